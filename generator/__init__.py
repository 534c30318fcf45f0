"""jailgen: catalog of web apps -> Hiera data and a Puppet module for jails behind NGINX."""

__version__ = "0.1.0"
