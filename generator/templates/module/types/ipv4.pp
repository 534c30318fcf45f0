# @summary An IPv4 address in dotted-quad form.
type {{ module|capitalize }}::Ipv4 = Pattern[
  /\A(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\z/
]
