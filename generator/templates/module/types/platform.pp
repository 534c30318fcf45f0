# @summary The kind of host: `freebsd` (jails on ZFS) or `linux` (namespaces, for development and CI).
type {{ module|capitalize }}::Platform = Enum['freebsd', 'linux']
