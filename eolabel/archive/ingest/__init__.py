"""Scene ingest: inspect -> recognise the sensor -> write a COG into the archive -> rows in one transaction."""
