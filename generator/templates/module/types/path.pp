# @summary A normalised absolute path made of safe characters (no spaces, quotes or `..`).
type {{ module|capitalize }}::Path = Pattern[/\A(?:\/(?!\.\.?(?:\/|\z))[A-Za-z0-9_.:+@-]+)+\z/]
