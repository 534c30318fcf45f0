# frozen_string_literal: true

module PuppetX
  module Jailgen
    # The jail(8) parameters of FreeBSD 14, rendered by jailgen from the same
    # table that checks the catalog (generator/jail_params.py): each name with
    # its kind (boolean, integer, string, choice or address list), the range or
    # the words it takes, and why jailgen refuses it, when it does.
    module JailParameters
      # One row of the table: a parameter's name, its kind, why jailgen refuses
      # it (nil when allowed), the range of an integer and the words of a choice.
      Parameter = Struct.new(:name, :kind, :refused, :low, :high, :choices)

      # Every FreeBSD 14 jail(8) parameter by name.
      TABLE = [
{% for p in jail_parameters %}
        Parameter.new('{{ p.name }}', :{{ p.kind | replace(' ', '_') }}, {{ ("'" ~ p.refused | replace("'", "\\'") ~ "'") if p.refused else 'nil' }},
                      {{ p.low if p.low is not none else 'nil' }}, {{ p.high if p.high is not none else 'nil' }}, %w[{{ p.choices | join(' ') }}]),
{% endfor %}
      ].to_h { |parameter| [parameter.name, parameter.freeze] }.freeze

      module_function

      # @param name [String] a jail(8) parameter name
      # @return [Parameter, nil] its table entry, or nil when jail(8) has no such parameter
      def [](name)
        TABLE[name]
      end

      # `allow.noraw_sockets` is `allow.raw_sockets` set to false (jail(8)):
      # the positive name of a negated boolean, else nil.
      def positive(name)
        head, dot, last = name.rpartition('.')
        return nil unless last.start_with?('no')

        parameter = TABLE["#{head}#{dot}#{last[2..]}"]
        parameter&.kind == :boolean ? parameter.name : nil
      end
    end
  end
end
