# @summary The kind of host: `freebsd` (jails on ZFS) or `linux` (namespaces, for development and CI).
type Jails::Platform = Enum['freebsd', 'linux']
