# frozen_string_literal: true

# What pf(4) offers the {{ module }} module's NAT anchor on a FreeBSD host:
# `enabled` (`pfctl -s info` says Enabled), `rdr_anchors`, the translation
# anchors the main ruleset hooks (`rdr-anchor "NAME"` lines of `pfctl -s nat`),
# and `skipped`, the interfaces and interface groups pf.conf's `set skip`
# names (`pfctl -s Interfaces -v` marks them `(skip)`). An anchor that pf.conf
# does not hook is loaded but never evaluated, and pf translates nothing on a
# skipped interface.
Facter.add(:jailgen_pf) do
  confine kernel: 'FreeBSD'
  setcode do
    pfctl = '/sbin/pfctl'
    if File.executable?(pfctl)
      info = Facter::Core::Execution.execute("#{pfctl} -s info 2>/dev/null", on_fail: '')
      nat = Facter::Core::Execution.execute("#{pfctl} -s nat 2>/dev/null", on_fail: '')
      ifaces = Facter::Core::Execution.execute("#{pfctl} -s Interfaces -v 2>/dev/null", on_fail: '')
      {
        'enabled' => info.start_with?('Status: Enabled'),
        'rdr_anchors' => nat.scan(%r{^rdr-anchor "([^"]+)"}).flatten,
        'skipped' => ifaces.scan(%r{^(\S+) \(skip\)$}).flatten,
      }
    end
  end
end
