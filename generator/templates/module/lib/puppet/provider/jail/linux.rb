# frozen_string_literal: true

require 'fileutils'
require 'io/nonblock'
require 'json'
require 'puppet/util'
require_relative '../../../puppet_x/jailgen/validation'

Puppet::Type.type(:jail).provide(:linux) do
  desc <<~DOC
    Jails on Linux, for development, CI and single-host trials, with the same
    interface as the freebsd provider.

    The jail's root is a copy of the template directory. A running jail is a
    bubblewrap sandbox with its own mount, pid, IPC and UTS (host name)
    namespaces: the jail's root is `/`, the host's `/usr` is mounted read-only
    inside (like a thin jail), and `/bin/sh /etc/rc` runs as its first process.
    Its address is a loopback address: Linux routes all of 127.0.0.0/8 to `lo`,
    so a pool such as 127.16.0.0/16 plays the part of lo1 and needs no
    configuration. The sandbox is started in its own process group, detached,
    so it outlives the Puppet run.

    Runtime state lives next to the jails: `<jails_dir>/run/<name>.json` records
    the sandbox's pid and its pid namespace. The pid is recorded before the
    sandbox may start (it waits at a gate until then), so a run killed at any
    point never leaves a sandbox running that no runtime file records. State is read once per run for
    every jail of the catalog (the run directory and the jail roots); no command
    is run to read it.
  DOC

  def self.binaries
    { bwrap: '/usr/bin/bwrap', cp: '/bin/cp' }
  end

  confine kernel: 'Linux'
  defaultfor kernel: 'Linux'
  commands binaries

  def self.stop_grace_seconds
    10
  end

  # --- Command builders: pure, one argv each. ---

  def self.clone_command(template, path)
    [binaries[:cp], '-a', '--reflink=auto', '--', template, path]
  end

  # The sandbox: the jail root is `/` and the host's /usr is read-only inside,
  # except /usr/local, which is the jail's own (releases live there, as on
  # FreeBSD); the merged-/usr links (/bin, /sbin, /lib, /lib64) come with the
  # template.
  def self.sandbox_command(name, path, hostname)
    [
      binaries[:bwrap],
      '--unshare-pid', '--unshare-ipc', '--unshare-uts',
      '--hostname', hostname || name,
      '--bind', path, '/',
      '--ro-bind', '/usr', '/usr',
      '--bind', File.join(path, 'usr', 'local'), '/usr/local',
      '--ro-bind', '/etc/alternatives', '/etc/alternatives',
      '--proc', '/proc',
      '--dev', '/dev',
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin',
      '--setenv', 'JAIL_NAME', name,
      '--chdir', '/',
      '--', '/bin/sh', '/etc/rc'
    ]
  end

  # `command` once a line `start` arrives on fd 3; nothing if the pipe closes
  # first. The gate execs the command, so its pid is the command's.
  def self.gated_command(command)
    ['/bin/sh', '-c', 'IFS= read -r go <&3 && [ "$go" = start ] && exec 3<&- && exec "$@"', 'jail-gate', *command]
  end

  # --- Reading the system: once per run. ---

  def self.run_dir(path)
    File.join(File.dirname(File.dirname(path)), 'run')
  end

  def self.read_runtime(file)
    JSON.parse(File.read(file))
  rescue Errno::ENOENT, JSON::ParserError
    nil
  end

  def self.pid_namespace(pid)
    File.readlink("/proc/#{pid}/ns/pid")
  rescue SystemCallError
    nil
  end

  # A recorded sandbox is running when its process still exists and is the
  # bwrap we started (pids are reused).
  def self.alive?(runtime)
    return false unless runtime.is_a?(Hash) && runtime['pid'].is_a?(Integer)

    cmdline = File.read("/proc/#{runtime['pid']}/cmdline").split("\0")
    cmdline.first == binaries[:bwrap] && cmdline.include?(runtime['path'])
  rescue SystemCallError
    false
  end

  # Whether process `pid` exists and has not exited (the gate in front of a
  # sandbox, or the sandbox while it execs).
  def self.process?(pid)
    !File.read("/proc/#{pid}/stat").split(') ').last.start_with?('Z')
  rescue SystemCallError
    false
  end

  # The settings a jail was created or last started with, like its jail.conf.
  def self.read_settings(file)
    data = read_runtime(file)
    return {} unless data.is_a?(Hash)

    {
      address: data['address'],
      interface: data['interface'],
      hostname: data['hostname'],
      parameters: PuppetX::Jailgen::Validation.normalize_parameters(data['parameters'] || {}),
    }
  end

  def self.jail_properties(name, path)
    return { name: name, ensure: :absent } if path.nil?

    runtime = read_runtime(File.join(run_dir(path), "#{name}.json"))
    settings = read_settings(File.join(run_dir(path), "#{name}.conf.json"))
    root_exists = File.directory?(File.join(path, 'etc')) && !settings.empty?
    status = if alive?(runtime) then :running
             elsif root_exists then :stopped
             elsif File.exist?(path) || !settings.empty? then :incomplete
             else :absent
             end
    settings.merge(name: name, ensure: status, path: path, runtime: runtime, root_exists: root_exists)
  end

  def self.instances
    []
  end

  def self.prefetch(resources)
    resources.each do |name, resource|
      resource.provider = new(jail_properties(name, resource[:path]))
    end
  end

  # --- The provider interface used by the jail type. ---

  def status
    @property_hash[:ensure] || :absent
  end

  def running?
    status == :running
  end

  def complete?
    @property_hash[:root_exists] == true
  end

  def exists?
    status != :absent
  end

  def create
    path = resource[:path]
    template = resource[:template]
    unless PuppetX::Jailgen::Validation.absolute_path?(template) && File.directory?(template)
      raise Puppet::Error, "jail #{name}: the linux provider needs a template directory, not #{template.inspect}"
    end

    # A half-made root from an interrupted run is removed and made again.
    FileUtils.rm_rf(path) if File.exist?(path) && !complete?
    FileUtils.mkdir_p(File.dirname(path))
    execute(self.class.clone_command(template, path), failonfail: true, combine: true)
    write_settings
    @property_hash[:root_exists] = true
    @property_hash[:ensure] = :stopped
  end

  def start
    return if running?

    run_dir = self.class.run_dir(resource[:path])
    FileUtils.mkdir_p(run_dir)
    FileUtils.mkdir_p(File.join(resource[:path], 'var', 'log'))
    console = File.join(resource[:path], 'var', 'log', 'console.log')
    # The sandbox waits at a gate until its pid is recorded: a run killed before
    # that closes the gate's pipe, and the sandbox never starts.
    gate, opener = IO.pipe
    gate.nonblock = false # the gate's shell reads it with a blocking read
    pid = Process.spawn(
      *self.class.gated_command(self.class.sandbox_command(name, resource[:path], resource[:hostname])),
      in: File::NULL, out: [console, 'a'], err: [:child, :out], 3 => gate,
      pgroup: true, close_others: true, unsetenv_others: false
    )
    gate.close
    Process.detach(pid)
    runtime = { 'pid' => pid, 'path' => resource[:path], 'address' => resource[:address] }
    write_runtime(runtime)
    opener.write("start\n")
    opener.close
    wait_for_namespace(runtime)
    write_runtime(runtime)
    @property_hash[:runtime] = runtime
    @property_hash[:ensure] = :running
  end

  def stop
    runtime = @property_hash[:runtime] || self.class.read_runtime(runtime_file)
    terminate(runtime) if self.class.alive?(runtime)
    FileUtils.rm_f(runtime_file)
    @property_hash[:ensure] = complete? ? :stopped : :incomplete
  end

  def restart
    stop
    start
  end

  # Safe order, as on FreeBSD: stop every process, then remove the root.
  def destroy
    stop if running?
    FileUtils.rm_rf(resource[:path] || @property_hash[:path])
    FileUtils.rm_f(runtime_file)
    FileUtils.rm_f(settings_file)
    @property_hash = { name: name, ensure: :absent }
  end

  # Properties read from the recorded settings; setting one records a change.
  [:address, :interface, :hostname, :parameters].each do |property|
    define_method(property) { @property_hash[property] }
    define_method(:"#{property}=") do |value|
      (@changed ||= {})[property] = value
    end
  end

  # Changed settings are recorded, and take effect when the sandbox starts: a
  # running jail is restarted.
  def flush
    return if (@changed || {}).empty? || status == :absent

    write_settings
    restart if running?
    @changed.clear
  end

  private

  def settings_file
    File.join(self.class.run_dir(resource[:path] || @property_hash[:path]), "#{name}.conf.json")
  end

  def write_settings
    FileUtils.mkdir_p(File.dirname(settings_file))
    settings = {
      'address' => resource[:address],
      'interface' => resource[:interface],
      'hostname' => resource[:hostname],
      'parameters' => resource[:parameters] || {},
    }
    Puppet::Util.replace_file(settings_file, '0644') { |file| file.write(JSON.pretty_generate(settings)) }
  end

  def runtime_file
    File.join(self.class.run_dir(resource[:path] || @property_hash[:path]), "#{name}.json")
  end

  def write_runtime(runtime)
    Puppet::Util.replace_file(runtime_file, '0644') { |file| file.write(JSON.generate(runtime)) }
  end

  # bwrap has set up the namespaces once its child is in a pid namespace
  # different from ours; a sandbox that dies at once is a failed start.
  def wait_for_namespace(runtime)
    ours = self.class.pid_namespace(Process.pid)
    deadline = Time.now + 10
    loop do
      if self.class.alive?(runtime)
        child = children(runtime['pid']).first
        namespace = child && self.class.pid_namespace(child)
        if namespace && namespace != ours
          runtime['pid_namespace'] = namespace
          return
        end
      elsif !self.class.process?(runtime['pid'])
        raise Puppet::Error, "jail #{name} did not start; see #{resource[:path]}/var/log/console.log"
      end
      raise Puppet::Error, "jail #{name}: sandbox did not come up within 10 s" if Time.now > deadline

      sleep 0.05
    end
  end

  def children(pid)
    File.read("/proc/#{pid}/task/#{pid}/children").split.map(&:to_i)
  rescue SystemCallError
    []
  end

  # Every process of the jail: those in its pid namespace.
  def jail_processes(runtime)
    child = children(runtime['pid']).first
    namespace = runtime['pid_namespace'] || (child && self.class.pid_namespace(child))
    return [] unless namespace

    Dir.glob('/proc/[0-9]*').map { |dir| File.basename(dir).to_i }.select do |pid|
      pid != runtime['pid'] && self.class.pid_namespace(pid) == namespace
    end
  end

  # TERM to every process in the jail (the rc scripts stop their services),
  # KILL to whatever is left after the grace period, then wait for bwrap.
  def terminate(runtime)
    signal_all('TERM', runtime)
    deadline = Time.now + self.class.stop_grace_seconds
    sleep 0.05 while self.class.alive?(runtime) && Time.now < deadline
    signal_all('KILL', runtime) if self.class.alive?(runtime)
    Process.kill('KILL', runtime['pid']) if self.class.alive?(runtime)
    deadline = Time.now + 5
    sleep 0.05 while self.class.alive?(runtime) && Time.now < deadline
    raise Puppet::Error, "jail #{name}: processes still running after KILL" if self.class.alive?(runtime)
  rescue Errno::ESRCH
    nil
  end

  def signal_all(signal, runtime)
    jail_processes(runtime).each do |pid|
      Process.kill(signal, pid)
    rescue Errno::ESRCH
      next
    end
  end
end
