# @summary A ZFS dataset name, such as `zroot/jails`.
type {{ module|capitalize }}::Dataset = Pattern[
  /\A[A-Za-z0-9][A-Za-z0-9_.:-]*(?:\/[A-Za-z0-9][A-Za-z0-9_.:-]*)*\z/
]
