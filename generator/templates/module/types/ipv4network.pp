# @summary An IPv4 network in CIDR form, such as `172.16.0.0/12`.
type {{ module|capitalize }}::Ipv4network = Pattern[
  /\A(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(?:\d|[12]\d|3[0-2])\z/
]
