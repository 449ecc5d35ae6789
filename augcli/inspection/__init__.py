"""Looking at data and runs: `preview` (a recipe on a few sources, before a run), `report` (a
run's manifest, after), `stats` (per-channel mean and std of an image dataset)."""
