"""Scraping /metrics in tests: the exposition parsed with prometheus_client's own parser."""

from prometheus_client.parser import text_string_to_metric_families


def parse(text):
    """{(sample name, frozenset of labels): value} of an exposition, and the families by name."""
    families = {family.name: family for family in text_string_to_metric_families(text)}
    samples = {(sample.name, frozenset(sample.labels.items())): sample.value
               for family in families.values() for sample in family.samples}
    return samples, families


def value(samples, name, **labels):
    """The value of the sample `name{labels}` (0 when absent: a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples, name):
    """The label sets of `name`'s samples."""
    return [dict(labels) for sample_name, labels in samples if sample_name == name]
