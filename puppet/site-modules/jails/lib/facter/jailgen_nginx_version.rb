# frozen_string_literal: true

# The version of the host's NGINX (`nginx -v`), such as `1.22.1`; unset when
# NGINX is not installed.
Facter.add(:jailgen_nginx_version) do
  setcode do
    binary = ['/usr/local/sbin/nginx', '/usr/sbin/nginx'].find { |path| File.executable?(path) }
    if binary
      output = Facter::Core::Execution.execute("#{binary} -v 2>&1", on_fail: nil)
      output && output[%r{nginx/(\d+\.\d+\.\d+)}, 1]
    end
  end
end
