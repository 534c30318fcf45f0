# @summary A network interface name, such as `lo1` (FreeBSD) or `lo` (Linux).
type Jails::Interface = Pattern[/\A[a-z][a-z0-9]{0,14}\z/]
