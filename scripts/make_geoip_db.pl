#!/usr/bin/perl
# make_geoip_db.pl - a small MaxMind-format database for tests, laid out as GeoLite2's.
#
#   scripts/make_geoip_db.pl OUT.mmdb country CIDR=CC [CIDR=CC ...]
#   scripts/make_geoip_db.pl OUT.mmdb asn CIDR=NUMBER[:ORG] [CIDR=NUMBER[:ORG] ...]
#
# country: database_type "GeoLite2-Country", each network {country => {iso_code => CC}};
#          CIDR=registered:CC gives {registered_country => {iso_code => CC}} only, as GeoLite2
#          has for some networks (anycast, satellite providers).
# asn:     database_type "GeoLite2-ASN", each network {autonomous_system_number => NUMBER,
#          autonomous_system_organization => ORG} (ORG left out when not given).
# IPv4 networks sit in the IPv6 tree at ::a.b.c.d, as in MaxMind's own databases.
# Reserved ranges are kept (remove_reserved_networks => 0), so that the documentation
# networks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) can stand for
# countries in tests.
#
# Needs Debian's libmaxmind-db-writer-perl; exits 77 without it (the tests' skip code).
use strict;
use warnings;

BEGIN {
    eval { require MaxMind::DB::Writer::Tree; 1 } or do {
        print STDERR "make_geoip_db.pl: MaxMind::DB::Writer::Tree is not installed "
          . "(apt-get install libmaxmind-db-writer-perl)\n";
        exit 77;
    };
}

sub usage {
    print STDERR "usage: make_geoip_db.pl OUT.mmdb country CIDR=CC [CIDR=CC ...]\n"
      . "       make_geoip_db.pl OUT.mmdb asn CIDR=NUMBER[:ORG] [CIDR=NUMBER[:ORG] ...]\n";
    exit 2;
}

my ($out, $kind, @nets) = @ARGV;
usage() unless defined $out && defined $kind && @nets && ($kind eq 'country' || $kind eq 'asn');

my %types = $kind eq 'country'
  ? (country => 'map', registered_country => 'map', iso_code => 'utf8_string')
  : (autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string');

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => $kind eq 'country' ? 'GeoLite2-Country' : 'GeoLite2-ASN',
    languages                => ['en'],
    description              => { en => "tapwatch test $kind database" },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => 1,
);

for my $arg (@nets) {
    my ($cidr, $value) = split /=/, $arg, 2;
    usage() unless defined $value && $cidr =~ m{^[0-9A-Fa-f:.]+/\d+$};
    my $net = $cidr;
    # an IPv4 network in the IPv6 tree: ::a.b.c.d/(96 + len)
    if ($cidr =~ m{^(\d+\.\d+\.\d+\.\d+)/(\d+)$}) {
        die "make_geoip_db.pl: $cidr: prefix longer than 32\n" if $2 > 32;
        $net = "::$1/" . (96 + $2);
    }
    my $data;
    if ($kind eq 'country') {
        # any text is accepted here on purpose: tests build hostile databases too
        $data = $value =~ /^registered:(.*)$/s
          ? { registered_country => { iso_code => $1 } }
          : { country => { iso_code => $value } };
    } else {
        my ($num, $org) = split /:/, $value, 2;
        die "make_geoip_db.pl: $arg: expected CIDR=NUMBER[:ORG]\n"
          unless $num =~ /^\d+$/ && $num <= 4294967295;
        $data = { autonomous_system_number => $num + 0 };
        $data->{autonomous_system_organization} = $org if defined $org;
    }
    $tree->insert_network($net, $data);
}

open my $fh, '>:raw', $out or die "make_geoip_db.pl: $out: $!\n";
$tree->write_tree($fh);
close $fh or die "make_geoip_db.pl: $out: $!\n";
