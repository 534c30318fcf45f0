# frozen_string_literal: true

require 'spec_helper'

# One catalog per host in the catalog, compiled from manifests/site.pp with the
# host's own Hiera data and the facts of its platform.
{% for host in hosts %}

describe '{{ host.certname | replace("\\", "\\\\") | replace("'", "\\'") }}' do
  let(:facts) { JailgenSpec.facts('{{ host.os }}', '{{ host.certname | replace("\\", "\\\\") | replace("'", "\\'") }}') }

  include_examples 'a jailgen host', '{{ host.certname | replace("\\", "\\\\") | replace("'", "\\'") }}'
end
{% endfor %}
