"""One module per resource; each exports `routes` (see dashboard.app.VIEW_MODULES)."""
