# @summary A lower-case DNS name, safe to write into an NGINX `server_name`.
type Jails::Domain = Pattern[
  /\A(?=.{1,253}\z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\z/
]
