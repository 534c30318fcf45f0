# @summary A normalised absolute path made of safe characters (no spaces, quotes or `..`).
type Jails::Path = Pattern[/\A(?:\/(?!\.\.?(?:\/|\z))[A-Za-z0-9_.:+@-]+)+\z/]
