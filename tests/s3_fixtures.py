"""Fixtures for the S3 store's tests: one moto server per test session, a fresh bucket per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from tpdeclare.state.s3_client import S3Client
from tpdeclare.state.s3_location import S3Location

from moto_s3 import MotoS3

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST", "AWS_SECRET_ACCESS_KEY": "test-secret-do-not-print",
               "AWS_DEFAULT_REGION": "us-east-1"}
_buckets = itertools.count(1)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3().start()
    yield server
    server.stop()


def boto_client(server: MotoS3):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                        config=Config(retries={"max_attempts": 4, "mode": "standard"},
                                      s3={"addressing_style": "path"}))


@pytest.fixture
def bucket(moto_s3: MotoS3) -> str:
    """A new, empty bucket on the shared server (faults off)."""
    moto_s3.mode, moto_s3.faults, moto_s3.delay = "", 0, 0.0
    name = f"test-bucket-{next(_buckets)}"
    boto_client(moto_s3).create_bucket(Bucket=name)
    return name


def s3_client(server: MotoS3, location: S3Location) -> S3Client:
    return S3Client(location, client=boto_client(server))
