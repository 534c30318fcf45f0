# frozen_string_literal: true

require_relative 'jail_parameters'

module PuppetX
  module Jailgen
    # Syntax rules for jail attributes, shared by the jail type and its providers.
    #
    # Everything here ends up in jail.conf(5), on a command line or in a path,
    # so the rules are allow-lists: a value that passes cannot carry quotes,
    # semicolons, braces, variable references, newlines or option-like leading
    # dashes into any of those places.
    module Validation
      # A jail(8) name that is also a ZFS dataset component and a host name:
      # lower-case letters, digits and underscores, starting with a letter (so it
      # is never mistaken for a jid), no dots (dots mean hierarchical jails).
      NAME = /\A[a-z][a-z0-9_]{0,62}\z/
      OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
      IPV4 = /\A#{OCTET}(?:\.#{OCTET}){3}\z/
      INTERFACE = /\A[a-z][a-z0-9]{0,14}\z/
      DATASET_COMPONENT = '[A-Za-z0-9][A-Za-z0-9_.:-]*'
      DATASET = %r{\A#{DATASET_COMPONENT}(?:/#{DATASET_COMPONENT})*\z}
      SNAPSHOT = %r{\A#{DATASET_COMPONENT}(?:/#{DATASET_COMPONENT})*@[A-Za-z0-9_.:-]+\z}
      ABSOLUTE_PATH = %r{\A(?:/[A-Za-z0-9_.:+@-]+)+\z}
      HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?'
      HOSTNAME = /\A#{HOST_LABEL}(?:\.#{HOST_LABEL})*\z/
      PARAMETER_NAME = /\A[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*\z/
      # Printable characters that mean nothing to jail.conf(5) inside a quoted
      # string: no quote, backslash, dollar (variable expansion), semicolon,
      # braces, hash or control characters.
      PARAMETER_STRING = %r{\A[A-Za-z0-9_.,:/=+@%-]*\z}


      module_function

      def name?(value)
        value.is_a?(String) && NAME.match?(value)
      end

      def ipv4?(value)
        value.is_a?(String) && IPV4.match?(value)
      end

      def interface?(value)
        value.is_a?(String) && INTERFACE.match?(value)
      end

      def dataset?(value)
        value.is_a?(String) && value.length <= 255 && DATASET.match?(value) && !dot_component?(value.split('/'))
      end

      def snapshot?(value)
        value.is_a?(String) && value.length <= 255 && SNAPSHOT.match?(value) &&
          !dot_component?(value.split('@').first.split('/'))
      end

      def absolute_path?(value)
        value.is_a?(String) && ABSOLUTE_PATH.match?(value) && !dot_component?(value.split('/').drop(1))
      end

      def hostname?(value)
        value.is_a?(String) && value.length <= 253 && HOSTNAME.match?(value)
      end

      def dot_component?(components)
        components.any? { |component| ['.', '..'].include?(component) }
      end

      # Raises ArgumentError unless name = value is an extra jail(8) parameter
      # that FreeBSD 14's jail(8) accepts, that jailgen lets the catalog set
      # (JailParameters: not one the type sets itself, not a command), and
      # that can be written to jail.conf(5) verbatim.
      def validate_parameter!(name, value)
        key = name.to_s
        unless PARAMETER_NAME.match?(key) && key.length <= 64
          raise ArgumentError, "invalid jail parameter name #{key.inspect}: expected dotted lower-case words such as allow.raw_sockets"
        end

        base = JailParameters.positive(key)
        parameter = JailParameters[base || key]
        raise ArgumentError, "unknown jail parameter #{key}: not a FreeBSD 14 jail(8) parameter" if parameter.nil?
        raise ArgumentError, "jail parameter #{key} #{parameter.refused}" if parameter.refused
        raise ArgumentError, "jail parameter #{key} is #{base} negated: give #{base} => false" if base

        problem = value_problem(parameter, value)
        raise ArgumentError, "invalid value #{value.inspect} for jail parameter #{key}: #{problem}" if problem
      end

      def value_problem(parameter, value)
        case parameter.kind
        when :boolean
          'expected true or false' unless [true, false, 'true', 'false'].include?(value)
        when :integer
          if !value.is_a?(Integer)
            'expected an integer'
          elsif parameter.low && !(parameter.low..parameter.high).cover?(value)
            "expected #{parameter.low} to #{parameter.high}"
          end
        when :choice
          "expected one of #{parameter.choices.join(', ')}" unless parameter.choices.include?(value)
        else
          'only letters, digits and _.,:/=+@%- are allowed' unless value.is_a?(String) && PARAMETER_STRING.match?(value)
        end
      end

      # One jail.conf(5) statement, by the parameter's kind: `name;` for true,
      # `name = "false";` for false, integers bare, everything else quoted.
      def parameter_line(name, value)
        parameter = JailParameters[name.to_s]
        case normalize_value(value)
        when true then "#{name};"
        when false then "#{name} = \"false\";"
        else
          parameter&.kind == :integer ? "#{name} = #{value};" : "#{name} = \"#{value}\";"
        end
      end

      # Canonical form of a parameters hash: string keys in sorted order, and
      # "true"/"false" strings as booleans, so that what the manifest asks for
      # compares equal to what is read back from jail.conf(5).
      def normalize_parameters(parameters)
        parameters.map { |key, value| [key.to_s, normalize_value(value)] }.sort_by(&:first).to_h
      end

      def normalize_value(value)
        case value
        when 'true' then true
        when 'false' then false
        else value
        end
      end
    end
  end
end
