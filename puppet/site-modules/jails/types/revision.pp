# @summary A full git commit id (SHA-1, or SHA-256 for repositories that use it).
type Jails::Revision = Pattern[/\A[0-9a-f]{40}(?:[0-9a-f]{24})?\z/]
