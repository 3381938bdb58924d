"""A plugin file that fails to import, to show it is reported as broken."""

raise RuntimeError("this plugin is deliberately broken")
