# @summary A jail name: also a ZFS dataset component, a host name and an rc.d-safe word.
#
# Lower-case letters, digits and underscores, starting with a letter, at most 63
# characters; jailgen names a release's jail `<app>_<first 12 hex digits of the commit>`.
type Jails::Jailname = Pattern[/\A[a-z][a-z0-9_]{0,62}\z/]
