# frozen_string_literal: true

require 'spec_helper'

# One catalog per host in the catalog, compiled from manifests/site.pp with the
# host's own Hiera data and the facts of its platform.

describe 'devbox.example.net' do
  let(:facts) { JailgenSpec.facts('linux', 'devbox.example.net') }

  include_examples 'a jailgen host', 'devbox.example.net'
end

describe 'jail1.example.net' do
  let(:facts) { JailgenSpec.facts('freebsd', 'jail1.example.net') }

  include_examples 'a jailgen host', 'jail1.example.net'
end

describe 'jail2.example.net' do
  let(:facts) { JailgenSpec.facts('freebsd', 'jail2.example.net') }

  include_examples 'a jailgen host', 'jail2.example.net'
end
