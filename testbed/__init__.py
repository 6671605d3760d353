"""Test-bed parts that are not shipped with the agent: sipp phones and their scenarios."""
