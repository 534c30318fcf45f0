# frozen_string_literal: true

require 'fileutils'
require 'json'
require 'puppet/util'

module PuppetX
  module Jailgen
    # What both jail_build providers share: the marker, the log, running each
    # command with a time limit and, when one fails, the message that says which
    # and what it printed last. A provider says how one command is run in the
    # jail (`command_for`, `environment_for`) and who owns the checkout (`owner`).
    module Build
      # How many of a failed command's last output lines its failure shows.
      TAIL_LINES = 20

      # The marker a finished build leaves in the jail, as seen on the host.
      def marker_file
        File.join(resource[:path], 'var', 'db', 'jailgen', "#{resource[:app]}.built")
      end

      # The log as seen from inside the jail, and on the host.
      def log_in_jail
        "/var/log/#{resource[:app]}-build.log"
      end

      # The build log, as seen on the host.
      def log_file
        File.join(resource[:path], log_in_jail)
      end

      # The release's checkout in the jail, as seen on the host.
      def checkout
        File.join(resource[:path], resource[:directory])
      end

      # What the marker records: a build of other commands or another
      # environment is not this build.
      def wanted_marker
        {
          'revision' => resource[:revision],
          'commands' => resource[:commands],
          'environment' => resource[:environment].sort.to_h,
        }
      end

      def built?
        JSON.parse(File.read(marker_file)) == wanted_marker
      rescue Errno::ENOENT, JSON::ParserError
        false
      end

      # Run every build command in order, logging their output; the marker is
      # removed first and written only after the last command succeeded.
      def build
        FileUtils.rm_f(marker_file)
        FileUtils.mkdir_p([File.dirname(marker_file), File.dirname(log_file)])
        uid, gid = owner
        FileUtils.chown_R(uid, gid, checkout)
        File.open(log_file, 'a') do |log|
          log.sync = true
          log.write("# jailgen: build of #{resource[:app]} at #{resource[:revision]} in #{resource[:name]}, #{Time.now.utc.strftime('%FT%TZ')}\n")
          resource[:commands].each { |argv| run_logged(argv, log) }
          log.write("# jailgen: built\n")
        end
        Puppet::Util.replace_file(marker_file, '0644') { |file| file.write(JSON.generate(wanted_marker) + "\n") }
      end

      private

      def run_logged(argv, log)
        log.write("$ #{JSON.generate(argv)}\n")
        start = log.pos
        pid = Process.spawn(environment_for, *command_for(argv),
                            in: File::NULL, out: log, err: log, pgroup: true, unsetenv_others: true, close_others: true)
        status = wait_for(pid)
        return if status&.success?

        why = status.nil? ? "took more than #{resource[:timeout]} s and was killed" : "exited #{status.exitstatus || "on signal #{status.termsig}"}"
        output = tail(start)
        log.write("# jailgen: build command #{JSON.generate(argv)} #{why}; the release is not built\n")
        raise Puppet::Error, "build command #{JSON.generate(argv)} #{why}; its last output " \
                             "(all of it in #{log_in_jail} in the jail):\n#{output}"
      end

      # The exit status, or nil when the command ran out of time (its process
      # group is killed).
      def wait_for(pid)
        deadline = Time.now + resource[:timeout]
        loop do
          _, status = Process.waitpid2(pid, Process::WNOHANG)
          return status if status

          if Time.now > deadline
            Process.kill('KILL', -pid)
            Process.waitpid2(pid)
            return nil
          end
          sleep 0.05
        end
      end

      def tail(start)
        text = File.open(log_file, 'rb') do |file|
          file.seek(start)
          file.read.to_s
        end
        lines = text.force_encoding('UTF-8').scrub.split("\n").last(TAIL_LINES)
        lines.empty? ? '(no output)' : lines.join("\n")
      end
    end
  end
end
