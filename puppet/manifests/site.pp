# Every node of this control repo is a jail host.
node default {
  include role::jailhost
}
