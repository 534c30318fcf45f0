# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:jail_build) do
  let(:params) do
    {
      name: 'shop_3f2a9c1e0b1a',
      app: 'shop',
      revision: '3f2a9c1e0b1a' + '0' * 28,
      path: '/usr/local/jails/containers/shop_3f2a9c1e0b1a',
      directory: '/usr/local/shop',
      commands: [['/usr/local/bin/python3.11', '-m', 'venv', '.venv']],
      environment: { 'PORT' => 8000 },
    }
  end

  it 'is built by default, as www, with a time limit per command' do
    build = described_class.new(params)
    expect(build[:ensure]).to eq(:built)
    expect(build[:user]).to eq('www')
    expect(build[:timeout]).to eq(1800)
    expect(build[:environment]).to eq('PORT' => '8000')
  end

  {
    commands: [[], 'pip install', [['pip', "a\nb"]], [[]]],
    environment: [{ 'A B' => 'x' }, { 'A' => "x\ny" }],
    revision: ['HEAD', '3f2a9c1'],
    path: ['relative/path', '/a/../b c'],
    user: ['-u', 'www;id'],
  }.each do |param, values|
    values.each do |value|
      it "refuses #{param} #{value.inspect}" do
        expect { described_class.new(params.merge(param => value)) }.to raise_error(Puppet::ResourceError)
      end
    end
  end
end
