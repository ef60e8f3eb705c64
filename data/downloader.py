"""Robust HTTP downloads and archive extraction for the data preparation pipeline.

A download goes to `<dest>.part`, resumes with an HTTP Range request after a dropped
connection, retries with exponential backoff, is checked against the expected size and
checksum when they are known, and only then is renamed to `<dest>` (os.replace). So a file
under its final name is always complete and verified; an interrupted download leaves at
most a `.part` file, which the next run resumes.
"""

import bz2
import hashlib
import http.client
import os
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib

_CHUNK = 1 << 20
# Errors after which a retry (resuming from the bytes already received) makes sense.
_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError)


class DownloadError(RuntimeError):
  """A download that could not be completed or verified."""


def file_digest(path, algorithm):
  """Returns the hex digest of a file.

  Args:
    path: file to hash.
    algorithm: hashlib name, e.g. "sha256" or "md5".

  Returns:
    The lowercase hex digest.
  """
  h = hashlib.new(algorithm)
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(_CHUNK), b""):
      h.update(block)
  return h.hexdigest()


def verify_file(path, sha256=None, md5=None, size=None):
  """Raises ValueError naming the file when its size or a known checksum differs."""
  if size is not None and os.path.getsize(path) != size:
    raise ValueError("%s: size %d bytes, expected %d" % (path, os.path.getsize(path), size))
  for algorithm, want in (("sha256", sha256), ("md5", md5)):
    if want is not None:
      got = file_digest(path, algorithm)
      if got != want:
        raise ValueError("%s: %s checksum mismatch: got %s, expected %s" % (path, algorithm, got, want))


def _total_size(response, offset):
  """The full size of the remote file from a 200 or 206 response, or None if unknown."""
  content_range = response.headers.get("Content-Range")
  if response.status == 206 and content_range and "/" in content_range:
    total = content_range.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None
  length = response.headers.get("Content-Length")
  if length is None:
    return None
  return int(length) + (offset if response.status == 206 else 0)


def _fetch_once(url, part, timeout):
  """One attempt: appends to `part` from its current size. Returns (received, total)."""
  offset = os.path.getsize(part) if os.path.exists(part) else 0
  request = urllib.request.Request(url, headers={"User-Agent": "bert-tf-bertPrep"})
  if offset:
    request.add_header("Range", "bytes=%d-" % offset)
  try:
    response = urllib.request.urlopen(request, timeout=timeout)
  except urllib.error.HTTPError as e:
    if e.code == 416 and offset:  # The .part already holds the whole file.
      return offset, offset
    raise
  with response:
    if response.status != 206:
      offset = 0  # The server ignored the Range header: start over.
    total = _total_size(response, offset)
    received = offset
    with open(part, "ab" if offset else "wb") as f:
      for block in iter(lambda: response.read(_CHUNK), b""):
        f.write(block)
        received += len(block)
  return received, total


def download(url, dest, sha256=None, md5=None, size=None, retries=5, backoff=1.0, timeout=60.0):
  """Downloads `url` to `dest`, resuming, retrying and verifying.

  An existing `dest` is kept when it passes the known checks (it was renamed into place
  only after a verified download) and downloaded again otherwise.

  Args:
    url: http(s) URL.
    dest: final path of the file.
    sha256: expected hex sha256, or None when unknown.
    md5: expected hex md5, or None when unknown.
    size: expected size in bytes, or None when unknown.
    retries: attempts after the first one when the transfer fails or is cut short.
    backoff: seconds before the first retry; doubled after each further failure.
    timeout: socket timeout in seconds.

  Returns:
    `dest`.

  Raises:
    DownloadError: the transfer failed `retries + 1` times (a `.part` file holding what was received
      is left for a later resume) or the server answered with a client error such as 404.
    ValueError: the complete file has the wrong size or checksum (the `.part` is deleted).
  """
  if os.path.exists(dest):
    try:
      verify_file(dest, sha256=sha256, md5=md5, size=size)
      print("Already downloaded and verified: %s" % dest)
      return dest
    except ValueError as e:
      print("Downloading again: %s" % e)
  os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
  part = dest + ".part"
  print("Downloading %s -> %s" % (url, dest))
  last_error = None
  for attempt in range(retries + 1):
    if attempt:
      delay = backoff * 2 ** (attempt - 1)
      print("  retry %d/%d in %.1f s after: %s" % (attempt, retries, delay, last_error))
      time.sleep(delay)
    try:
      received, total = _fetch_once(url, part, timeout)
    except urllib.error.HTTPError as e:
      if 400 <= e.code < 500 and e.code not in (408, 429):
        raise DownloadError("%s: HTTP %d %s" % (url, e.code, e.reason)) from e
      last_error = "HTTP %d %s" % (e.code, e.reason)
      continue
    except _TRANSIENT as e:
      last_error = "%s: %s" % (type(e).__name__, e)
      continue
    expected = size if size is not None else total
    if expected is not None and received < expected:
      last_error = "connection closed after %d of %d bytes" % (received, expected)
      continue
    if expected is not None and received > expected:
      os.remove(part)  # Not a continuation of what the .part held: start over.
      last_error = "received %d bytes, more than the %d expected" % (received, expected)
      continue
    try:
      verify_file(part, sha256=sha256, md5=md5, size=size)
    except ValueError as e:
      os.remove(part)
      raise ValueError("%s (downloaded from %s; partial file removed)" % (e, url)) from None
    os.replace(part, dest)
    print("  done: %s (%d bytes)" % (dest, received))
    return dest
  raise DownloadError("%s: download failed after %d attempts (last error: %s); %s" % (
      url, retries + 1, last_error, _partial_file_note(part)))


def _partial_file_note(part):
  """What is left of a failed download: a `.part` with data to resume from, or nothing (an empty one is
  removed)."""
  size = os.path.getsize(part) if os.path.exists(part) else 0
  if size:
    return "the partial file %s (%d bytes) is kept and the next run resumes it" % (part, size)
  if os.path.exists(part):
    os.remove(part)
  return "no data was received, so no partial file is kept"


def decompress_bz2(src, dest):
  """Decompresses a .bz2 file to `dest` through a temporary file (bz2 CRCs are checked).

  Raises:
    ValueError: `src` is truncated or corrupt (nothing is left at `dest`).
  """
  tmp = dest + ".tmp"
  print("Decompressing %s -> %s" % (src, dest))
  try:
    with bz2.open(src, "rb") as fin, open(tmp, "wb") as fout:
      shutil.copyfileobj(fin, fout, _CHUNK)
  except (EOFError, OSError) as e:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise ValueError("%s: corrupt or truncated bz2 archive (%s)" % (src, e)) from None
  os.replace(tmp, dest)
  return dest


def extract_archive(archive, dest_dir):
  """Extracts a .zip or .tar.gz/.tgz archive into `dest_dir`.

  Members are extracted into a temporary directory next to `dest_dir` and each top-level
  entry is then renamed into place (replacing an older copy), so an interrupted extraction
  never leaves a half-written tree under its final name.

  Args:
    archive: path of the archive.
    dest_dir: directory receiving the archive's top-level entries.

  Returns:
    Sorted names of the top-level entries placed in `dest_dir`.

  Raises:
    ValueError: the archive is corrupt or of an unknown kind.
  """
  os.makedirs(dest_dir, exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=".extract-", dir=dest_dir)
  print("Extracting %s -> %s" % (archive, dest_dir))
  try:
    if archive.endswith(".zip"):
      try:
        with zipfile.ZipFile(archive) as z:
          bad = z.testzip()
          if bad is not None:
            raise ValueError("%s: corrupt zip member %s" % (archive, bad))
          z.extractall(tmp)
      except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise ValueError("%s: not a valid zip archive (%s)" % (archive, e)) from None
    elif archive.endswith((".tar.gz", ".tgz")):
      try:
        with tarfile.open(archive, "r:gz") as t:
          t.extractall(tmp, filter="data")
      except (tarfile.TarError, EOFError, OSError) as e:
        raise ValueError("%s: corrupt or truncated tar.gz archive (%s)" % (archive, e)) from None
    else:
      raise ValueError("%s: unknown archive type (expected .zip, .tar.gz or .tgz)" % archive)
    names = sorted(os.listdir(tmp))
    for name in names:
      target = os.path.join(dest_dir, name)
      if os.path.isdir(target) and not os.path.islink(target):
        shutil.rmtree(target)
      os.replace(os.path.join(tmp, name), target)
    return names
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
