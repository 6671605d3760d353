"""dashboard: the operator console (and, next, the supervisor's), a thin web layer over state/.

`dashboard.app.create_app(settings)` is its composition root; `intake dashboard` serves it.
Nothing is imported here: the CLI loads `dashboard.cli` on every run, and the app's imports
(Starlette, templates, the tools) are not needed for that.
"""
