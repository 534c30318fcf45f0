# frozen_string_literal: true

# Which ACME certificates this host has: `vardir` (Puppet's, where the module
# lists certbot's configuration directories) and, per directory, the names of
# the certificates under `live/` with both their full chain and their key.
Facter.add(:jailgen_acme) do
  setcode do
    vardir = defined?(Puppet) && Puppet.respond_to?(:settings) ? Puppet.settings[:vardir] : nil
    list = vardir && File.join(vardir, 'jailgen_acme_dirs')
    dirs = list && File.readable?(list) ? File.readlines(list, chomp: true).reject(&:empty?) : []
    certificates = dirs.to_h do |dir|
      names = Dir.glob(File.join(dir, 'live', '*', 'fullchain.pem')).select do |chain|
        File.readable?(File.join(File.dirname(chain), 'privkey.pem'))
      end
      [dir, names.map { |chain| File.basename(File.dirname(chain)) }.sort]
    end
    { 'vardir' => vardir, 'certificates' => certificates }
  end
end
