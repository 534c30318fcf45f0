# @summary A FreeBSD release as named on the download mirrors, such as `14.1-RELEASE`.
type Jails::Freebsdrelease = Pattern[/\A[1-9][0-9]*\.[0-9]+-RELEASE\z/]
