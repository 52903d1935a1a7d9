"""Fetching a dataset from a card: a real HTTP server on 127.0.0.1, interrupted and resumed."""

import hashlib
import io
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from translate.data import count_examples, fetch, resolve_dataset
from translate.data.cards import Card, cache_dir
from translate.data.config import DataConfig
from translate.data.download import extract_archive
from translate.data.imageio import encode_image
from translate.errors import UserError


class Server:
    """Serves `files` (name -> bytes) with Range support; can cut a response after N bytes."""

    def __init__(self):
        self.files, self.ranges, self.cut_after = {}, [], None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                data = server.files.get(self.path.lstrip("/"))
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                server.ranges.append(self.headers.get("Range"))
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.cut_after is not None:  # die midway, like a dropped connection
                    body, server.cut_after = body[: server.cut_after], None
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def url(self, name):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def tiny_zip(extra_members=()) -> bytes:
    """A CycleGAN-style dataset zip: tiny/trainA, trainB, testA, testB with 4x4 PNGs."""
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(buf, "w") as zf:
        for folder in ("trainA", "trainB", "testA", "testB"):
            for i in range(3):
                image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                zf.writestr(f"tiny/{folder}/{i}.png", encode_image(image, ".png"))
        for name, data in extra_members:
            zf.writestr(name, data)
    return buf.getvalue()


def card_for(server, name, data, sha256="computed"):
    server.files[f"{name}.zip"] = data
    digest = hashlib.sha256(data).hexdigest() if sha256 == "computed" else sha256
    return Card(name=name, urls=(server.url(f"{name}.zip"),), sha256=digest, layout="unaligned",
                archive="zip", folder="tiny")


def leftovers():
    """Anything half-done in the cache: .part files, temporary folders."""
    root = cache_dir()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.startswith(".") or p.name.endswith(".part"))


def test_fetch_downloads_verifies_and_extracts_into_the_cache(server):
    card = card_for(server, "tiny", tiny_zip())
    path = fetch(card, progress=False)
    assert path == cache_dir() / "datasets" / "tiny"
    assert sorted(p.name for p in path.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert not (cache_dir() / "downloads" / "tiny.zip").exists()  # archive removed once extracted
    assert leftovers() == []
    spec = resolve_dataset(path)
    assert count_examples(spec, "train", DataConfig()) == 3
    fetch(card, progress=False)  # cached: no second request
    assert server.ranges == [None]


def test_interrupted_download_resumes_with_a_range_request(server):
    data = tiny_zip()
    card = card_for(server, "tiny", data)
    server.cut_after = len(data) // 3
    with pytest.raises(UserError, match="interrupted after .* run the same command again to resume"):
        fetch(card, progress=False)
    part = cache_dir() / "downloads" / "tiny.zip.part"
    assert part.stat().st_size == len(data) // 3
    assert not (cache_dir() / "datasets" / "tiny").exists()
    fetch(card, progress=False)
    assert server.ranges == [None, f"bytes={len(data) // 3}-"]
    assert (cache_dir() / "datasets" / "tiny" / "testB" / "2.png").is_file()
    assert leftovers() == []


def test_wrong_checksum_is_rejected_and_nothing_is_left(server):
    card = card_for(server, "tiny", tiny_zip(), sha256="0" * 64)
    with pytest.raises(UserError, match="checksum mismatch .* the card says 0000"):
        fetch(card, progress=False)
    assert not (cache_dir() / "datasets" / "tiny").exists()
    assert leftovers() == []


@pytest.mark.parametrize("member", ["tiny/../../evil.txt", "/tmp/evil.txt"])
def test_archive_members_escaping_the_folder_are_refused(server, tmp_path, member):
    card = card_for(server, "tiny", tiny_zip(extra_members=[(member, b"gotcha")]))
    with pytest.raises(UserError, match="refusing member .*evil.txt.* the archive is unsafe"):
        fetch(card, progress=False)
    assert not (cache_dir() / "datasets" / "tiny").exists()
    assert not list(cache_dir().parent.rglob("evil.txt"))
    assert leftovers() == []


def test_tar_symlink_leaving_the_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        link = tarfile.TarInfo("set/train/passwd.png")
        link.type, link.linkname = tarfile.SYMTYPE, "../../../../etc/passwd"
        tf.addfile(link)
    with pytest.raises(UserError, match="refusing member"):
        extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]


def test_cli_fetches_from_a_card_file_and_unreachable_urls_are_user_errors(server, tmp_path):
    from typer.testing import CliRunner

    from translate.commands.datasets import app

    data = tiny_zip()
    server.files["tiny.zip"] = data
    card = tmp_path / "tiny.yaml"
    card.write_text(f"name: tiny\nurl: {server.url('tiny.zip')}\n"
                    f"sha256: {hashlib.sha256(data).hexdigest()}\nlayout: unaligned\n")
    run = CliRunner().invoke(app, ["fetch", str(card), "--no-progress"])
    assert run.exit_code == 0, run.output
    assert str(cache_dir() / "datasets" / "tiny") in run.stdout
    card.write_text("name: gone\nurl: http://127.0.0.1:9/gone.zip\n")
    run = CliRunner().invoke(app, ["fetch", str(card)])
    assert isinstance(run.exception, UserError)
    assert "cannot reach http://127.0.0.1:9/gone.zip" in str(run.exception)


def test_a_card_without_sha256_is_checked_against_its_first_download(server):
    """No published checksum: the first complete download's sha256 is recorded, and a later
    fetch of different bytes from the same URL is refused."""
    card = card_for(server, "tiny", tiny_zip(), sha256=None)
    fetch(card, progress=False)
    recorded = cache_dir() / "downloads" / "tiny.zip.sha256"
    assert recorded.read_text().strip() == hashlib.sha256(tiny_zip()).hexdigest()
    server.files["tiny.zip"] = tiny_zip(extra_members=[("tiny/trainA/new.txt", b"changed")])
    with pytest.raises(UserError, match="checksum mismatch .* the first download recorded in"):
        fetch(card, force=True, progress=False)
    assert (cache_dir() / "datasets" / "tiny" / "trainA" / "0.png").is_file()  # old copy kept
    assert leftovers() == []


@pytest.mark.parametrize("name", ["/abs/path", "../../x", "a/b", ".hidden", ""])
def test_a_card_name_that_is_not_a_plain_name_is_refused(tmp_path, name):
    """The name becomes the cache folder: a path there would fill or reuse any folder."""
    from translate.data.cards import read_card_file

    card = tmp_path / "evil.yaml"
    card.write_text(f"name: '{name}'\nurl: http://127.0.0.1:9/x.zip\n")
    with pytest.raises(UserError, match="evil.yaml: .*(not a plain name|needs at least `name:`)"):
        read_card_file(card)
    assert not (tmp_path / "abs").exists()


@pytest.mark.parametrize("sha", ["0", "000", "'abc'", "0x12"])
def test_a_malformed_sha256_is_an_error_not_a_silent_skip(tmp_path, sha):
    from translate.data.cards import read_card_file

    card = tmp_path / "tiny.yaml"
    card.write_text(f"name: tiny\nurl: http://127.0.0.1:9/x.zip\nsha256: {sha}\n")
    with pytest.raises(UserError, match="tiny.yaml: sha256 .* is not 64 hex digits"):
        read_card_file(card)


def test_a_truncated_download_without_sha256_is_not_kept_or_recorded(server):
    """No Content-Length check can catch it and no checksum vouches for it: the archive that
    does not extract is deleted, nothing is recorded, and the next fetch downloads again."""
    good = tiny_zip()
    card = card_for(server, "tiny", good[: len(good) // 2], sha256=None)
    with pytest.raises(UserError):
        fetch(card, progress=False)
    downloads = cache_dir() / "downloads"
    assert not (downloads / "tiny.zip").exists()
    assert not (downloads / "tiny.zip.sha256").exists()
    server.files["tiny.zip"] = good
    fetch(card, force=True, progress=False)
    assert (downloads / "tiny.zip.sha256").read_text().strip() == hashlib.sha256(good).hexdigest()
    assert leftovers() == []


@pytest.mark.parametrize("url", ["http://h/a/..", "http://h/a/%2e%2e", "http://h/", "http://h/.."])
def test_a_url_without_a_file_name_downloads_to_a_plain_file(url):
    from translate.data.download import archive_name

    assert archive_name(url) == "download"
