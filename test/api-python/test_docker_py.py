"""docker-py (Debian's python3-docker) against the tsrun service (issue 15).

Run by test/integration/api-docker-py.test.ts with DOCKER_HOST set to the
service's socket and the busybox image in its store as localhost/busybox.
Each test cleans up what it made.
"""
import io
import os
import tarfile
import time
import uuid

import docker
import pytest

IMAGE = "localhost/busybox:latest"


@pytest.fixture(scope="module")
def client():
    c = docker.from_env()
    yield c
    c.close()


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_ping_and_version(client):
    assert client.ping() is True
    v = client.version()
    assert v["ApiVersion"] == "1.41"
    assert client.info()["Swarm"]["LocalNodeState"] == "inactive"


def test_run_returns_output_and_removes(client):
    out = client.containers.run(IMAGE, ["sh", "-c", "echo out; echo err >&2"], remove=True, stderr=True)
    assert b"out" in out and b"err" in out
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run(IMAGE, ["sh", "-c", "exit 3"], remove=True)
    assert e.value.exit_status == 3


def test_detached_lifecycle(client):
    c = client.containers.run(IMAGE, ["sh", "-c", "echo started; exec sleep 300"], detach=True,
                              name=name("py"), labels={"suite": "docker-py"}, environment={"A": "1"})
    try:
        c.reload()
        assert c.status == "running"
        assert "A=1" in c.attrs["Config"]["Env"]
        assert [x.id for x in client.containers.list(filters={"label": "suite=docker-py"})] == [c.id]
        deadline = time.time() + 10
        while b"started" not in c.logs() and time.time() < deadline:
            time.sleep(0.1)
        assert c.logs() == b"started\n"
        c.stop(timeout=1)
        assert c.wait(timeout=20)["StatusCode"] in (137, 143)
        c.reload()
        assert c.status == "exited"
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(c.id)


def test_exec(client):
    c = client.containers.run(IMAGE, ["sleep", "300"], detach=True)
    try:
        r = c.exec_run(["sh", "-c", "echo in-exec; exit 4"])
        assert r.exit_code == 4
        assert r.output == b"in-exec\n"
        r = c.exec_run(["sh", "-c", "echo $X"], environment={"X": "from-env"}, workdir="/tmp")
        assert r.output == b"from-env\n"
    finally:
        c.remove(force=True)


def test_images_tag_and_remove(client):
    img = client.images.get(IMAGE)
    assert IMAGE in img.tags
    tag = f"localhost/pytag:{uuid.uuid4().hex[:6]}"
    assert img.tag(tag) is True
    assert tag in client.images.get(tag).tags
    client.images.remove(tag)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(tag)


def test_build(client):
    dockerfile = b"FROM localhost/busybox:latest\nRUN echo built > /built.txt\nCMD [\"cat\", \"/built.txt\"]\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        t.addfile(info, io.BytesIO(dockerfile))
    buf.seek(0)
    tag = f"localhost/pybuild:{uuid.uuid4().hex[:6]}"
    image, logs = client.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True)
    try:
        assert any("Successfully built" in l.get("stream", "") for l in logs)
        assert client.containers.run(tag, remove=True) == b"built\n"
    finally:
        client.images.remove(image.id, force=True)


def test_networks_and_volumes(client):
    net = client.networks.create(name("pynet"), driver="bridge", labels={"suite": "docker-py"},
                                 ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.176.1.0/24")]))
    vol = client.volumes.create(name("pyvol"), labels={"suite": "docker-py"})
    try:
        assert net.attrs["IPAM"]["Config"][0]["Subnet"] == "10.176.1.0/24"
        server = client.containers.run(IMAGE, ["sleep", "300"], detach=True, name=name("srv"), network=net.name)
        try:
            out = client.containers.run(IMAGE, ["sh", "-c", f"ping -c1 -W2 {server.name} >/dev/null && echo reached"],
                                        network=net.name, remove=True, volumes={vol.name: {"bind": "/data", "mode": "rw"}})
            assert out == b"reached\n"
            net.reload()
            assert server.id in net.attrs["Containers"]
        finally:
            server.remove(force=True)
        assert [v.name for v in client.volumes.list(filters={"label": "suite=docker-py"})] == [vol.name]
    finally:
        vol.remove()
        net.remove()
    with pytest.raises(docker.errors.NotFound):
        client.networks.get(net.id)
