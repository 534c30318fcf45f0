# @summary An app name: used in jail names, NGINX upstream names and rc.d variable names.
type Jails::Appname = Pattern[/\A[a-z][a-z0-9_]{0,49}\z/]
