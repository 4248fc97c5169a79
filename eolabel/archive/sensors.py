"""The built-in sensors: real band layouts (centre wavelengths of the Sentinel-2A MSI, Landsat TM/ETM+/OLI,
Pleiades) and display presets. Presets name bands and a rescale range per band (digital numbers)."""

from typing import Any

from ml.sensors import LANDSAT8_RGBN_BANDS, LANDSAT_TM_ETM_6_BANDS, SENTINEL2_BANDS, VHR_BANDS

S2_PRESETS = {
    "true-colour": {"bands": ["B04", "B03", "B02"], "rescale": [[0, 3000]] * 3},
    "false-colour": {"bands": ["B08", "B04", "B03"], "rescale": [[0, 5000]] * 3},
    "swir": {"bands": ["B12", "B8A", "B04"], "rescale": [[0, 5000]] * 3},
    "snow-cloud": {"bands": ["B11", "B8A", "B03"], "rescale": [[0, 6000]] * 3},
    "cirrus": {"bands": ["B10"], "rescale": [[0, 1200]]},
}

RGBN_PRESETS_16 = {
    "true-colour": {"bands": ["red", "green", "blue"], "rescale": [[0, 1800]] * 3},
    "false-colour": {"bands": ["nir", "red", "green"], "rescale": [[0, 3000]] * 3},
}

BUILTIN_SENSORS: list[dict[str, Any]] = [
    {
        "name": "sentinel2-l1c",
        "title": "Sentinel-2 MSI Level-1C (13 bands, top-of-atmosphere reflectance x 10000)",
        "bands": SENTINEL2_BANDS,
        "presets": S2_PRESETS,
        "default_preset": "true-colour",
        "resolution_m": 10.0,
        "match": {
            "platforms": ["sentinel-2a", "sentinel-2b", "sentinel-2c", "sentinel-2"],
            "dtypes": ["uint16"],
        },
    },
    {
        "name": "sentinel2-l2a",
        "title": "Sentinel-2 MSI Level-2A (12 bands, surface reflectance x 10000)",
        "bands": [b for b in SENTINEL2_BANDS if b["name"] != "B10"],
        "presets": {k: v for k, v in S2_PRESETS.items() if k != "cirrus"},
        "default_preset": "true-colour",
        "resolution_m": 10.0,
        "match": {
            "platforms": ["sentinel-2a", "sentinel-2b", "sentinel-2c", "sentinel-2"],
            "dtypes": ["uint16"],
        },
    },
    {
        "name": "landsat-tm-etm-6band",
        "title": "Landsat 5 TM / 7 ETM+ reflective bands (blue..swir22), reflectance x 10000",
        "bands": LANDSAT_TM_ETM_6_BANDS,
        "presets": {
            "true-colour": {"bands": ["red", "green", "blue"], "rescale": [[0, 3000]] * 3},
            "false-colour": {"bands": ["nir", "red", "green"], "rescale": [[0, 5000]] * 3},
            "swir": {"bands": ["swir22", "nir", "red"], "rescale": [[0, 5000]] * 3},
        },
        "default_preset": "true-colour",
        "resolution_m": 30.0,
        "match": {"platforms": ["landsat-5", "landsat-7"], "dtypes": ["uint16"]},
    },
    {
        "name": "landsat8-rgbn-8bit",
        "title": "Landsat 8 OLI red, green, blue, nir as 8-bit (38-Cloud style patches)",
        "bands": LANDSAT8_RGBN_BANDS,
        "presets": {
            "true-colour": {"bands": ["red", "green", "blue"], "rescale": [[0, 255]] * 3},
            "false-colour": {"bands": ["nir", "red", "green"], "rescale": [[0, 255]] * 3},
        },
        "default_preset": "true-colour",
        "resolution_m": 30.0,
        "match": {"platforms": ["landsat-8"], "dtypes": ["uint8"], "min_res_m": 10, "max_res_m": 100},
    },
    {
        "name": "vhr-rgbn",
        "title": "Very high resolution (Pleiades-like, 0.5 m) red, green, blue, nir, 12-bit",
        "bands": VHR_BANDS,
        "presets": RGBN_PRESETS_16,
        "default_preset": "true-colour",
        "resolution_m": 0.5,
        "match": {
            "platforms": ["pleiades", "phr1a", "phr1b", "spot-6", "spot-7"],
            "dtypes": ["uint16"],
            "max_res_m": 3,
        },
    },
]
