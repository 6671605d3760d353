"""Reading a worker's /metrics (tests, benchmarks): Prometheus text into summed samples."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Samples:
    text: str
    rows: list[tuple[str, dict[str, str], float]]

    def total(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels`."""
        return sum(value for sample, sample_labels, value in self.rows
                   if sample == name and labels.items() <= sample_labels.items())

    def has(self, name: str) -> bool:
        return any(sample == name for sample, _, _ in self.rows)


def parse_metrics(text: str) -> Samples:
    rows = [(s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text) for s in family.samples]
    return Samples(text=text, rows=rows)


async def scrape(base_url: str) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as response:
        response.raise_for_status()
        return parse_metrics(await response.text())
