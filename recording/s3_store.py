"""The recording store on S3-compatible object storage (AWS S3, versitygw, ...).

S3 has no append, so a part is written to a local spool file as the call goes and uploaded
whole at every `sync` (every few seconds) and at `close`; the spool is deleted once the final
upload succeeded. A killed worker loses at most the audio since the last sync. A call of ten
minutes is about 2.4 MB of Opus, so re-uploading the whole part is cheap.
Clients sign with SigV4 and use path-style addressing (virtual hosts would need DNS for
`bucket.localhost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from recording.store import CONTENT_TYPE, PART_NAME, RecordingStoreError, check_call_id, part_name

logger = logging.getLogger("intake.recording.s3")


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None
    region: str
    access_key_id: str
    secret_access_key: str
    prefix: str = ""


def _error(exc: Exception) -> RecordingStoreError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "unknown")
        return RecordingStoreError(f"object store refused the request ({code})")
    return RecordingStoreError("object store unreachable")


class _S3Part:
    def __init__(self, store: S3RecordingStore, key: str, part: int, path: Path) -> None:
        self._store = store
        self.key = key
        self.part = part
        self.path = path
        self.uri = f"s3://{store.settings.bucket}/{key}"
        self._synced_size = -1

    async def sync(self) -> None:
        size = self.path.stat().st_size if self.path.exists() else 0
        if size == self._synced_size:
            return
        body = await asyncio.to_thread(self.path.read_bytes)
        await self._store._put(self.key, body)
        self._synced_size = size

    async def close(self) -> None:
        await self.sync()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class S3RecordingStore:
    def __init__(self, settings: S3Settings, *, spool_dir: Path | None = None) -> None:
        self.settings = settings
        self._spool = spool_dir or Path(tempfile.mkdtemp(prefix="intake-recording-spool-"))
        self._session = aioboto3.Session()
        self._client_cm: Any = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        async with self._lock:
            if self._client is None:
                config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                retries={"max_attempts": 3, "mode": "standard"},
                                connect_timeout=5, read_timeout=20)
                self._client_cm = self._session.client(
                    "s3", endpoint_url=self.settings.endpoint_url,
                    region_name=self.settings.region,
                    aws_access_key_id=self.settings.access_key_id,
                    aws_secret_access_key=self.settings.secret_access_key, config=config)
                self._client = await self._client_cm.__aenter__()
            return self._client

    def _prefix(self, call_id: str) -> str:
        return f"{self.settings.prefix}{check_call_id(call_id)}/"

    def _key_of(self, uri: str) -> str:
        head = f"s3://{self.settings.bucket}/"
        if not uri.startswith(head):
            raise RecordingStoreError("recording URI of another bucket")
        key = uri[len(head):]
        if not key.startswith(self.settings.prefix):
            raise RecordingStoreError("recording URI outside the recording prefix")
        return key

    async def _put(self, key: str, body: bytes) -> None:
        s3 = await self._s3()
        try:
            await s3.put_object(Bucket=self.settings.bucket, Key=key, Body=body,
                                ContentType=CONTENT_TYPE)
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc) from None

    async def _keys(self, call_id: str) -> list[str]:
        s3 = await self._s3()
        prefix = self._prefix(call_id)
        keys: list[str] = []
        try:
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.settings.bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])
                         if PART_NAME.match(o["Key"][len(prefix):])]
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc) from None
        return sorted(keys)

    async def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (local stacks and tests)."""
        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.settings.bucket)
        except ClientError:
            try:
                await s3.create_bucket(Bucket=self.settings.bucket)
            except (ClientError, BotoCoreError) as exc:
                raise _error(exc) from None
        except BotoCoreError as exc:
            raise _error(exc) from None

    async def open_part(self, call_id: str) -> _S3Part:
        part = len(await self._keys(call_id)) + 1
        key = self._prefix(call_id) + part_name(part)
        path = self._spool / f"{check_call_id(call_id)}-{part_name(part)}"
        path.touch()
        opened = _S3Part(self, key, part, path)
        await opened.sync()  # claim the key at once: a second agent takes the next part
        return opened

    async def parts(self, call_id: str) -> list[str]:
        return [f"s3://{self.settings.bucket}/{k}" for k in await self._keys(call_id)]

    async def read(self, uri: str, start: int | None = None, end: int | None = None) -> bytes:
        s3 = await self._s3()
        extra: dict[str, str] = {}
        if start is not None or end is not None:
            extra["Range"] = f"bytes={start or 0}-{'' if end is None else end}"
        try:
            response = await s3.get_object(Bucket=self.settings.bucket, Key=self._key_of(uri),
                                           **extra)
            async with response["Body"] as body:
                data: bytes = await body.read()
                return data
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise RecordingStoreError("no such recording") from None
            raise _error(exc) from None
        except BotoCoreError as exc:
            raise _error(exc) from None

    async def delete_call(self, call_id: str) -> int:
        keys = await self._keys(call_id)
        if not keys:
            return 0
        s3 = await self._s3()
        try:
            await s3.delete_objects(Bucket=self.settings.bucket, Delete={
                "Objects": [{"Key": k} for k in keys], "Quiet": True})
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc) from None
        return len(keys)

    async def aclose(self) -> None:
        if self._client_cm is not None:
            await self._client_cm.__aexit__(None, None, None)
            self._client_cm = self._client = None
