# frozen_string_literal: true

require 'fileutils'
require 'puppet/util'
require_relative '../../../puppet_x/jailgen/validation'

Puppet::Type.type(:jail).provide(:freebsd) do
  desc <<~DOC
    Jails on FreeBSD with ZFS: the jail's root is a `zfs clone` of the template
    snapshot, its configuration is `/etc/jail.conf.d/<name>.conf`, and it is
    started and stopped with `service jail onestart|onestop <name>`.

    What starts at boot is rc.conf's `jail_list`, which holds exactly the jails
    this provider started: rc.d/jail starts every jail in /etc/jail.conf when
    the list is empty, so `jail_enable` is YES only while the list is not.

    State is read once per run for all jails (one `jls` listing, one `zfs list`,
    one `sysrc` query and the files in `/etc/jail.conf.d`). Every command runs
    as an argument vector, never through a shell.
  DOC

  # Absolute paths, so that the argv that runs is the argv that is logged and tested.
  def self.binaries
    { zfs: '/sbin/zfs', jls: '/usr/sbin/jls', service: '/usr/sbin/service', sysrc: '/usr/sbin/sysrc' }
  end

  confine kernel: 'FreeBSD'
  defaultfor kernel: 'FreeBSD'
  commands binaries

  def self.conf_dir
    '/etc/jail.conf.d'
  end

  # A stopped jail can stay dying, holding its dataset busy, while its TCP
  # connections sit in TIME_WAIT (2 * net.inet.tcp.msl: 60 s by default).
  def self.dying_timeout
    120
  end

  def self.dying_poll_interval
    1
  end

  def self.pause(seconds)
    sleep(seconds)
  end

  # Lines every jail gets, in this order, before the ones that depend on the
  # resource. `${name}` is expanded by jail(8), not by us.
  def self.static_conf_lines
    [
      'exec.start = "/bin/sh /etc/rc";',
      'exec.stop = "/bin/sh /etc/rc.shutdown";',
      'exec.consolelog = "/var/log/jail_console_${name}.log";',
      'exec.clean;',
      'mount.devfs;',
    ]
  end

  # --- Command builders: pure, one argv each. ---

  def self.list_running_command
    [binaries[:jls], '-q', 'name']
  end

  # Dying jails too (jls -d): a jail stays dying after it was removed until
  # the last reference to it, such as a socket in TIME_WAIT, goes away.
  def self.list_existing_command
    [binaries[:jls], '-d', '-q', 'name']
  end

  def self.boot_settings_command
    [binaries[:sysrc], '-n', 'jail_enable', 'jail_list']
  end

  def self.set_boot_list_command(names)
    [binaries[:sysrc], "jail_list=#{names.join(' ')}"]
  end

  def self.set_jail_enable_command(enable)
    [binaries[:sysrc], "jail_enable=#{enable ? 'YES' : 'NO'}"]
  end

  def self.list_datasets_command
    [binaries[:zfs], 'list', '-H', '-p', '-o', 'name,mountpoint', '-t', 'filesystem']
  end

  def self.clone_command(template, dataset, path)
    # The mountpoint is set explicitly so that the dataset is mounted exactly
    # where jail.conf says the jail's root is, whatever its parent inherits.
    [binaries[:zfs], 'clone', '-o', "mountpoint=#{path}", template, dataset]
  end

  def self.destroy_dataset_command(dataset)
    [binaries[:zfs], 'destroy', dataset]
  end

  # The `one` prefix: rc.d/jail acts whatever jail_enable says, which
  # describes boot only.
  def self.service_command(action, name)
    [binaries[:service], 'jail', "one#{action}", name]
  end

  def self.check_running_command(name)
    [binaries[:jls], '-j', name, 'jid']
  end

  # --- jail.conf(5) rendering and parsing: pure. ---

  def self.conf_value(value)
    value.is_a?(Integer) ? value.to_s : %("#{value}")
  end

  def self.parameter_line(key, value)
    PuppetX::Jailgen::Validation.parameter_line(key, value)
  end

  def self.render_conf(name:, path:, address:, interface:, hostname:, parameters:)
    hostname_value = (hostname.nil? || hostname == name) ? '"${name}"' : conf_value(hostname)
    lines = static_conf_lines + ["host.hostname = #{hostname_value};", "path = #{conf_value(path)};"]
    lines << "interface = #{interface};" if interface
    lines << "ip4.addr = #{address};"
    lines += (parameters || {}).sort.map { |key, value| parameter_line(key, value) }
    body = lines.map { |line| "\t#{line}\n" }.join
    "# Managed by Puppet (jailgen). Local changes are overwritten.\n#{name} {\n#{body}}\n"
  end

  def self.parse_value(raw, name)
    if raw.nil?
      true
    elsif raw.start_with?('"') && raw.end_with?('"') && raw.length >= 2
      PuppetX::Jailgen::Validation.normalize_value(raw[1..-2].gsub('${name}', name))
    elsif raw.match?(/\A-?[0-9]+\z/)
      Integer(raw, 10)
    else
      raw
    end
  end

  # Reads back what render_conf wrote (and tolerates hand-written files of the
  # same simple shape): one `key = value;` or `key;` statement per line.
  def self.parse_conf(name, text)
    static_keys = static_conf_lines.map { |line| line[/\A[a-z.]+/] }
    conf = { parameters: {} }
    text.each_line do |line|
      match = line.match(/\A\s*([a-z][a-z0-9_.]*)\s*(?:=\s*(.*?))?\s*;\s*(?:#.*)?\z/)
      next unless match

      key = match[1]
      value = parse_value(match[2], name)
      case key
      when 'ip4.addr' then conf[:address] = value
      when 'interface' then conf[:interface] = value
      when 'host.hostname' then conf[:hostname] = value
      when 'path' then conf[:path] = value
      else conf[:parameters][key] = value unless static_keys.include?(key)
      end
    end
    conf[:parameters] = PuppetX::Jailgen::Validation.normalize_parameters(conf[:parameters])
    conf
  end

  # --- Reading the system: one call of each kind per run. ---

  def self.run(argv)
    execute(argv, failonfail: true, combine: true)
  end

  def self.query(argv)
    execute(argv, failonfail: true, combine: false)
  end

  def self.running_jails
    query(list_running_command).each_line.map(&:strip).reject(&:empty?)
  end

  # Dataset name => mountpoint.
  def self.datasets
    query(list_datasets_command).each_line.each_with_object({}) do |line, acc|
      name, mountpoint = line.chomp.split("\t", 2)
      acc[name] = mountpoint if name && !name.empty?
    end
  end

  # Jail name => parsed configuration, for every /etc/jail.conf.d/<name>.conf.
  def self.configured_jails
    Dir.glob(File.join(conf_dir, '*.conf')).sort.each_with_object({}) do |file, acc|
      acc[File.basename(file, '.conf')] = parse_conf(File.basename(file, '.conf'), File.read(file))
    end
  end

  # rc.subr's checkyesno.
  def self.yes?(value)
    %w[yes true on 1].include?(value.to_s.strip.downcase)
  end

  # What rc.d/jail starts at boot: [jail_enable, the names in jail_list].
  def self.boot_settings
    enable, list = query(boot_settings_command).split("\n", 2)
    [yes?(enable), list.to_s.split]
  end

  def self.system_state
    enabled, listed = boot_settings
    { running: running_jails, confs: configured_jails, datasets: datasets, listed: listed, at_boot: enabled ? listed : [] }
  end

  # Puts a jail into jail_list or takes it out, keeping jail_enable YES
  # exactly while the list is not empty: an empty list would start every
  # jail in /etc/jail.conf, stopped ones included.
  def self.set_boot(name, start_at_boot)
    enabled, listed = boot_settings
    wanted = start_at_boot ? (listed | [name]).sort : listed - [name]
    run(set_boot_list_command(wanted)) unless wanted == listed
    run(set_jail_enable_command(!wanted.empty?)) unless enabled == !wanted.empty?
  end

  def self.existing_jails
    query(list_existing_command).each_line.map(&:strip).reject(&:empty?)
  end

  # Waits, bounded, until a removed jail is no longer dying.
  def self.wait_until_gone(name, dataset)
    polls = (dying_timeout / dying_poll_interval.to_f).ceil
    polls.times do |poll|
      return unless existing_jails.include?(name)

      pause(dying_poll_interval) if poll < polls - 1
    end
    return unless existing_jails.include?(name)

    raise Puppet::Error, "jail #{name} is still dying #{dying_timeout} seconds after it was stopped (jls -d lists it), " \
                         "so its dataset #{dataset} is busy and was not destroyed; a later run destroys it once the jail is gone"
  end

  # The property hash for one jail. dataset is the resource's dataset when
  # known; otherwise the dataset mounted at the configured path.
  def self.jail_properties(name, state, dataset = nil)
    conf = state[:confs][name]
    dataset ||= state[:datasets].key(conf[:path]) if conf && conf[:path]
    dataset_exists = !dataset.nil? && state[:datasets].key?(dataset)
    running = state[:running].include?(name)
    status = if running then :running
             elsif conf && dataset_exists then :stopped
             elsif conf || dataset_exists then :incomplete
             else :absent
             end
    properties = { name: name, ensure: status, dataset: dataset, dataset_exists: dataset_exists, configured: !conf.nil?,
                   listed: state[:listed].include?(name), at_boot: state[:at_boot].include?(name) }
    conf ? properties.merge(conf) : properties
  end

  def self.instances
    state = system_state
    names = (state[:running] + state[:confs].keys).uniq.sort
    names.select { |name| PuppetX::Jailgen::Validation.name?(name) }.map do |name|
      new(jail_properties(name, state))
    end
  end

  def self.prefetch(resources)
    state = system_state
    resources.each do |name, resource|
      resource.provider = new(jail_properties(name, state, resource[:dataset]))
    end
  end

  # --- The provider interface used by the jail type. ---

  def initialize(value = {})
    super(value)
    @property_flush = {}
  end

  def status
    @property_hash[:ensure] || :absent
  end

  def running?
    status == :running
  end

  def complete?
    @property_hash[:configured] == true && @property_hash[:dataset_exists] == true
  end

  def exists?
    status != :absent
  end

  # Whether rc.d/jail starts this jail at boot: it is in jail_list and
  # jail_enable is YES.
  def starts_at_boot?
    @property_hash[:at_boot] == true
  end

  def listed_at_boot?
    @property_hash[:listed] == true
  end

  # Clone the template (unless a previous, interrupted run already did) and
  # write the configuration. Starting is left to start.
  def create
    dataset = resource[:dataset]
    raise Puppet::Error, "jail #{name}: the freebsd provider needs a dataset" if dataset.nil?
    unless PuppetX::Jailgen::Validation.snapshot?(resource[:template])
      raise Puppet::Error, "jail #{name}: the freebsd provider needs a ZFS snapshot as template, not #{resource[:template].inspect}"
    end

    unless @property_hash[:dataset_exists]
      run(self.class.clone_command(resource[:template], dataset, resource[:path]))
      @property_hash[:dataset_exists] = true
      @property_hash[:dataset] = dataset
    end
    write_conf
    @property_hash[:ensure] = :stopped unless running?
  end

  # Starts the jail unless it runs, then lists it to start at boot: only a
  # jail that did come up is listed, and one that did not is unlisted.
  def start
    write_conf
    unless running?
      begin
        verify_running(run(self.class.service_command('start', name)))
      rescue Puppet::Error
        boot(false)
        raise
      end
      @property_hash[:ensure] = :running
    end
    boot(true)
  end

  # Unlists the jail first, so that it never starts at boot once stopped.
  def stop
    boot(false)
    run(self.class.service_command('stop', name)) if running?
    @property_hash[:ensure] = :stopped
  end

  def restart
    write_conf
    verify_running(run(self.class.service_command('restart', name)))
    @property_hash[:ensure] = :running
  end

  # Safe order: take the jail out of jail_list and stop it, remove its
  # configuration so nothing can start it again, wait until it is no longer
  # dying, then destroy its dataset.
  def destroy
    boot(false)
    run(self.class.service_command('stop', name)) if running?
    FileUtils.rm_f(conf_file)
    dataset = resource[:dataset] || @property_hash[:dataset]
    if dataset && @property_hash[:dataset_exists]
      self.class.wait_until_gone(name, dataset)
      run(self.class.destroy_dataset_command(dataset))
    end
    @property_hash = { name: name, ensure: :absent }
  end

  # Properties read the state prefetched for this run; setting one only notes
  # the change, and flush rewrites the configuration once.
  [:address, :interface, :hostname, :parameters].each do |property|
    define_method(property) do
      @property_hash[property] || :absent
    end

    define_method(:"#{property}=") do |value|
      @property_flush[property] = value
    end
  end

  def path
    @property_hash[:path]
  end

  def dataset
    @property_hash[:dataset]
  end

  # A changed address, interface, host name or parameter takes effect when the
  # jail starts; a running jail is restarted with the new configuration.
  def flush
    return if @property_flush.empty? || status == :absent

    write_conf
    restart if running?
    @property_flush.clear
  end

  def conf_file
    File.join(self.class.conf_dir, "#{name}.conf")
  end

  def conf_content
    self.class.render_conf(
      name: name,
      path: resource[:path],
      address: resource[:address],
      interface: resource[:interface],
      hostname: resource[:hostname],
      parameters: resource[:parameters],
    )
  end

  private

  def run(argv)
    self.class.run(argv)
  end

  def boot(start_at_boot)
    return if start_at_boot ? starts_at_boot? : !listed_at_boot?

    self.class.set_boot(name, start_at_boot)
    @property_hash[:listed] = @property_hash[:at_boot] = start_at_boot
  end

  # Atomically: the new file is written next to the old one and renamed over
  # it, so jail(8) never reads a half-written configuration.
  def write_conf
    content = conf_content
    return if File.file?(conf_file) && File.read(conf_file) == content

    Puppet::Util.replace_file(conf_file, '0644') { |file| file.write(content) }
    @property_hash[:configured] = true
  end

  # rc.d/jail exits 0 even when jail(8) fails, printing jail(8)'s message
  # instead; so whether the jail runs is checked with jls, and that message
  # is what the error carries.
  def verify_running(service_output)
    run(self.class.check_running_command(name))
  rescue Puppet::ExecutionFailure
    said = service_output.to_s.split("\n").map(&:strip).reject(&:empty?).join(' ')
    said = " (service jail said: #{said})" unless said.empty?
    raise Puppet::Error, "jail #{name} did not start#{said}; see /var/log/jail_console_#{name}.log"
  end
end
