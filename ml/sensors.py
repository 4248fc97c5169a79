"""Band facts of the sensors eolabel knows, in file order: name, common name, centre wavelength (nm), native
resolution (m). The single source for the app's built-in sensors, the demo generator and sensor transfer."""

from collections.abc import Sequence
from typing import Any


def band(name: str, common: str, wavelength_nm: float, resolution_m: float) -> dict[str, Any]:
    return {"name": name, "common_name": common, "wavelength_nm": wavelength_nm, "resolution_m": resolution_m}


SENTINEL2_BANDS: list[dict[str, Any]] = [
    band("B01", "coastal", 442.7, 60),
    band("B02", "blue", 492.4, 10),
    band("B03", "green", 559.8, 10),
    band("B04", "red", 664.6, 10),
    band("B05", "rededge1", 704.1, 20),
    band("B06", "rededge2", 740.5, 20),
    band("B07", "rededge3", 782.8, 20),
    band("B08", "nir", 832.8, 10),
    band("B8A", "nir08", 864.7, 20),
    band("B09", "nir09", 945.1, 60),
    band("B10", "cirrus", 1373.5, 60),
    band("B11", "swir16", 1613.7, 20),
    band("B12", "swir22", 2202.4, 20),
]
"""Sentinel-2A MSI, the 13 bands in Level-1C product order (B8A after B08); centre wavelengths from ESA's
spectral response functions."""

LANDSAT_TM_ETM_6_BANDS: list[dict[str, Any]] = [
    band("blue", "blue", 485.0, 30),
    band("green", "green", 560.0, 30),
    band("red", "red", 660.0, 30),
    band("nir", "nir", 835.0, 30),
    band("swir16", "swir16", 1650.0, 30),
    band("swir22", "swir22", 2215.0, 30),
]
"""Landsat 5 TM / 7 ETM+ reflective bands 1-5 and 7 (the two sensors' centres differ by under 5 nm)."""

LANDSAT8_OLI_BANDS: list[dict[str, Any]] = [
    band("coastal", "coastal", 443.0, 30),
    band("blue", "blue", 482.0, 30),
    band("green", "green", 561.4, 30),
    band("red", "red", 654.6, 30),
    band("nir", "nir", 864.7, 30),
    band("swir16", "swir16", 1608.9, 30),
    band("swir22", "swir22", 2200.7, 30),
    band("cirrus", "cirrus", 1373.4, 30),
]
"""Landsat 8 OLI bands 1-7 and 9 (the panchromatic band 8 is left out)."""

VHR_BANDS: list[dict[str, Any]] = [
    band("red", "red", 655.0, 0.5),
    band("green", "green", 560.0, 0.5),
    band("blue", "blue", 495.0, 0.5),
    band("nir", "nir", 840.0, 0.5),
]
"""Pleiades-like pansharpened multispectral bands in R, G, B, NIR order."""


def bands_by_name(bands: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """The named bands of a table, in the order of ``names`` (copies); an unknown name raises KeyError."""
    table = {b["name"]: b for b in bands}
    return [dict(table[name]) for name in names]


def wavelengths_nm(bands: list[dict[str, Any]]) -> dict[str, float]:
    """Band name -> centre wavelength (nm), in table order: what sensor transfer matches bands by."""
    return {b["name"]: float(b["wavelength_nm"]) for b in bands}


LANDSAT8_RGBN_BANDS: list[dict[str, Any]] = bands_by_name(LANDSAT8_OLI_BANDS, ("red", "green", "blue", "nir"))
"""Landsat 8 OLI red, green, blue, nir (the order of 38-Cloud patches)."""
