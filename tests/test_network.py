"""The core's allowed-network policies, on addresses and URLs."""

import pytest

from plexica.network import GATEWAY_POLICY, WEBHOOK_POLICY, NetworkPolicyError, check_address, check_url


@pytest.mark.parametrize("url", ["http://" + "a" * 64 + ".example/", "http://a..b/"])
def test_a_host_name_the_idna_codec_refuses_is_a_policy_error_not_a_crash(url):
    for policy in (GATEWAY_POLICY, WEBHOOK_POLICY):
        with pytest.raises(NetworkPolicyError, match="not a valid host name"):
            check_url(url, policy)


def test_the_webhook_policy_admits_public_addresses_and_refuses_private_ones_unless_opened(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert str(check_address("93.184.216.34", WEBHOOK_POLICY)) == "93.184.216.34"
    with pytest.raises(NetworkPolicyError, match="not public"):
        check_address("10.1.2.3", WEBHOOK_POLICY)
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    check_address("10.1.2.3", WEBHOOK_POLICY)


@pytest.mark.parametrize("address", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "100.100.100.200"])
def test_metadata_addresses_stay_refused_even_when_every_network_is_opened(settings, address):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    with pytest.raises(NetworkPolicyError, match="never allowed"):
        check_address(address, WEBHOOK_POLICY)


def test_the_gateway_policy_admits_only_its_networks(settings):
    settings.GATEWAY_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    check_address("127.0.0.1", GATEWAY_POLICY)
    with pytest.raises(NetworkPolicyError, match="outside the allowed networks"):
        check_address("93.184.216.34", GATEWAY_POLICY)
