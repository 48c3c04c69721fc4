#!/usr/bin/perl
# Writes the MaxMind DB files geoip_test.cc reads, with known answers:
#   city.mmdb     GeoLite2-City, IPv6 tree with the IPv4 subtree, 24-bit records
#   asn.mmdb      GeoLite2-ASN,  IPv6 tree, 28-bit records
#   city_v4.mmdb  GeoLite2-City, IPv4-only tree, 32-bit records
#   weird.mmdb    GeoLite2-City layout with wrong field types (the reader must count, not crash)
# Usage: write_test_mmdb.pl OUTDIR      (needs Debian's libmaxmind-db-writer-perl)
use strict;
use warnings;
use utf8;    # the names below are character strings; the writer stores them as UTF-8

use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUTDIR\n";

my %city_types = (
    city                => 'map',
    continent           => 'map',
    country             => 'map',
    registered_country  => 'map',
    location            => 'map',
    subdivisions        => [ 'array', 'map' ],
    names               => 'map',
    en                  => 'utf8_string',
    de                  => 'utf8_string',
    ja                  => 'utf8_string',
    sv                  => 'utf8_string',
    code                => 'utf8_string',
    iso_code            => 'utf8_string',
    geoname_id          => 'uint32',
    latitude            => 'double',
    longitude           => 'double',
    accuracy_radius     => 'uint16',
    time_zone           => 'utf8_string',
);

my %asn_types = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub new_tree {
    my (%args) = @_;
    my $types = delete $args{types};
    return MaxMind::DB::Writer::Tree->new(
        languages             => [ 'en', 'de', 'ja', 'sv' ],
        description           => { en => 'NetMicroscope test data' },
        map_key_type_callback => sub { $types->{ $_[0] } },
        %args,
    );
}

sub write_file {
    my ( $tree, $name ) = @_;
    open my $fh, '>:raw', "$out/$name" or die "$out/$name: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$out/$name: $!\n";
}

my $europe = { code => 'EU', geoname_id => 6255148, names => { en => 'Europe', de => 'Europa' } };
my $asia   = { code => 'AS', geoname_id => 6255147, names => { en => 'Asia', de => 'Asien' } };
my $gb     = { iso_code => 'GB', geoname_id => 2635167,
    names => { en => 'United Kingdom', de => 'Vereinigtes Königreich' } };

my $london = {
    city         => { geoname_id => 2643743, names => { en => 'London', de => 'London' } },
    continent    => $europe,
    country      => $gb,
    registered_country => $gb,
    location     => { latitude => 51.5142, longitude => -0.0931, accuracy_radius => 10,
        time_zone => 'Europe/London' },
    subdivisions => [ { iso_code => 'ENG', geoname_id => 6269131,
        names => { en => 'England', de => 'England' } } ],
};

my $linkoping = {
    city         => { geoname_id => 2694762, names => { en => 'Linköping', sv => 'Linköping' } },
    continent    => $europe,
    country      => { iso_code => 'SE', geoname_id => 2661886,
        names => { en => 'Sweden', sv => 'Sverige' } },
    location     => { latitude => 58.4167, longitude => 15.6167, accuracy_radius => 76,
        time_zone => 'Europe/Stockholm' },
    subdivisions => [ { iso_code => 'E', geoname_id => 2685867,
        names => { en => 'Östergötland County', sv => 'Östergötlands län' } } ],
};

# No city, and an empty subdivision list: a country-level block.
my $japan = {
    continent    => $asia,
    country      => { iso_code => 'JP', geoname_id => 1861060,
        names => { en => 'Japan', ja => '日本' } },
    location     => { latitude => 35.69, longitude => 139.69, accuracy_radius => 100,
        time_zone => 'Asia/Tokyo' },
    subdivisions => [],
};

# Only the registrant's country (as GeoLite2 has for some anycast/satellite blocks).
my $bhutan_registered = {
    continent          => $asia,
    registered_country => { iso_code => 'BT', geoname_id => 1252634,
        names => { en => 'Bhutan', de => 'Bhutan' } },
    location           => { latitude => 27.5, longitude => 90.5, accuracy_radius => 534 },
};

{
    my $tree = new_tree(types => \%city_types, ip_version => 6, record_size => 24,
        database_type => 'GeoLite2-City', alias_ipv6_to_ipv4 => 1);
    $tree->insert_network('81.2.69.160/27', $london);
    $tree->insert_network('89.160.20.112/28', $linkoping);
    $tree->insert_network('2001:218::/32', $japan);
    $tree->insert_network('67.43.156.0/24', $bhutan_registered);
    write_file($tree, 'city.mmdb');
}

{
    my $tree = new_tree(types => \%asn_types, ip_version => 6, record_size => 28,
        database_type => 'GeoLite2-ASN');
    $tree->insert_network('1.128.0.0/11',
        { autonomous_system_number => 1221, autonomous_system_organization => 'Telstra Pty Ltd' });
    $tree->insert_network('2600:6000::/20', { autonomous_system_number => 20001,
        autonomous_system_organization => 'Charter Communications Inc' });
    $tree->insert_network('81.2.69.160/27', { autonomous_system_number => 20712,
        autonomous_system_organization => 'Andrews & Arnold Ltd' });
    $tree->insert_network('89.160.20.112/28', { autonomous_system_number => 29518,
        autonomous_system_organization => 'Bredband2 AB' });
    write_file($tree, 'asn.mmdb');
}

{
    my $tree = new_tree(types => \%city_types, ip_version => 4, record_size => 32,
        database_type => 'GeoLite2-City');
    $tree->insert_network('81.2.69.160/27', $london);
    write_file($tree, 'city_v4.mmdb');
}

{
    my %weird_types = (
        city            => 'map',
        names           => 'map',
        en              => 'uint32',         # a name that is a number
        location        => 'map',
        latitude        => 'utf8_string',    # a coordinate that is text
        longitude       => 'double',
        accuracy_radius => 'uint32',         # larger than the uint16 it should be
        subdivisions    => 'utf8_string',    # not an array
    );
    my $tree = new_tree(types => \%weird_types, ip_version => 6, record_size => 24,
        database_type => 'GeoLite2-City');
    $tree->insert_network('5.5.5.0/24', {
        city         => { names => { en => 42 } },
        location     => { latitude => 'north', longitude => 10.5, accuracy_radius => 70000 },
        subdivisions => 'none',
    });
    write_file($tree, 'weird.mmdb');
}
