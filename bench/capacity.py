"""classroom_capacity: the uploads per second the app sustains on this machine's cores, checked by driving that rate.

The rate is computed, then tried: one student (a browser-less client, `bench/protocol.py`)
uploads new digits on /predict one after another, and the app's process group's CPU per
upload gives the capacity `cores / CPU per upload`. Then STUDENTS sessions upload at that
rate for PHASE_SECONDS, each upload scheduled on a clock (a late one waits, and its wait
counts), timed from its scheduled moment to the end of the run that predicts and explains
it, media fetched. The rate holds when the 95th percentile stays within TARGET_P95 seconds;
when it does not, 3/4 and then 1/2 of it are tried. The value is the highest rate that held,
the baseline the computed one.

Browsers could not drive this: with the server on the same 2 cores, Chromium's own rendering
costs more than the server's work. The driver's own CPU is reported beside the server's.

Usage: python -m bench.capacity [--seconds S] [--students N]
"""

import asyncio
import os
import pathlib
import resource
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from bench import common, protocol, serving
from bench.common import result

STUDENTS = 40  # Sessions open at once: more than the rate times a slow upload, so none waits for a session.
PHASE_SECONDS = 60
TARGET_P95 = 1.5  # Seconds from an upload to its explanation on screen (the server's part).
PROBE_UPLOADS = 20  # Uploads by one student that measure the CPU per upload.
FRACTIONS = (1.0, 0.75, 0.5, 0.25)
SOURCE, UPLOADER, UPLOAD_LABEL = "-predict-source", "-predict-upload", ":material/upload: Upload"


async def upload_student(url):
    student = protocol.Student(url, "predict", f"model={serving.MNIST_MODEL}")
    await student.open()
    await student.choose(SOURCE, UPLOAD_LABEL)
    return student


async def probe(url, group, files):
    """One student's uploads, one after another: CPU of the app's processes per upload, in seconds."""
    student = await upload_student(url)
    try:
        for file in files[:serving.WARMUP]:
            await student.upload(UPLOADER, file["name"], file["buffer"])
        before, server = common.group_cpu_seconds(group), common.group_cpu_seconds(group, leader_only=True)
        for file in files[serving.WARMUP:]:
            await student.upload(UPLOADER, file["name"], file["buffer"])
        count = len(files) - serving.WARMUP
        return ((common.group_cpu_seconds(group) - before) / count,
                (common.group_cpu_seconds(group, leader_only=True) - server) / count)
    finally:
        await student.close()


async def drive(students, rate, seconds, files, group):
    """Uploads at `rate` per second across the students for `seconds`; returns (latencies s, errors, CPU s)."""
    idle = asyncio.Queue()
    for student in students:
        idle.put_nowait(student)
    latencies, errors, tasks = [], [], []
    files = iter(files)

    async def one(scheduled):
        student = await idle.get()
        file = next(files)
        try:
            await student.upload(UPLOADER, file["name"], file["buffer"])
            latencies.append(time.monotonic() - scheduled)
        except Exception as error:  # A timeout or a refused upload counts as an error, not a crash of the bench.
            errors.append(f"{type(error).__name__}: {str(error)[:120]}")
        finally:
            idle.put_nowait(student)

    cpu, started = common.group_cpu_seconds(group), time.monotonic()
    for index in range(int(rate * seconds)):
        scheduled = started + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    return latencies, errors, common.group_cpu_seconds(group) - cpu, time.monotonic() - started


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def classroom_capacity(url, group, seconds, students_count):
    digits = serving.Images("mnist", "PNG", seed=7)
    probe_cpu, server_cpu = await probe(url, group, [digits.next() for _ in range(serving.WARMUP + PROBE_UPLOADS)])
    cores = os.cpu_count()
    computed = cores / probe_cpu
    students = await asyncio.gather(*(upload_student(url) for _ in range(students_count)))
    for student in students:  # Each student's first upload is untimed, as in the browser benchmarks.
        file = digits.next()
        await student.upload(UPLOADER, file["name"], file["buffer"])
    phases = []
    try:
        for fraction in FRACTIONS:
            rate = computed * fraction
            files = [digits.next() for _ in range(int(rate * seconds) + 1)]
            load, driver = common.load_note(), own_cpu_seconds()
            latencies, errors, cpu, wall = await drive(students, rate, seconds, files, group)
            driver = own_cpu_seconds() - driver
            p95 = float(np.percentile(latencies, 95)) if latencies else float("inf")
            done = len(latencies)
            phases.append({"rate": rate, "p95": p95, "median": statistics.median(latencies) if latencies else None,
                           "done": done, "errors": errors, "wall": wall, "server_cpu_ms": 1000 * cpu / max(done, 1),
                           "driver_cpu_ms": 1000 * driver / max(done, 1), "load": load})
            if p95 <= TARGET_P95 and not errors:
                break
    finally:
        await asyncio.gather(*(student.close() for student in students), return_exceptions=True)
    return probe_cpu, server_cpu, computed, phases


def run(seconds=PHASE_SECONDS, students=STUDENTS):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="imgrec-capacity-"))
    try:
        serving.copy_models(workdir / "models")
        (workdir / "runs").mkdir()
        with serving.server(workdir, "app", "streamlit_app.py") as (url, group):
            probe_cpu, server_cpu, computed, phases = asyncio.run(classroom_capacity(url, group, seconds, students))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    held = [phase for phase in phases if phase["p95"] <= TARGET_P95 and not phase["errors"]]
    words = "; ".join(
        f"{phase['rate']:.1f}/s for {phase['wall']:.0f} s: {phase['done']} done, {len(phase['errors'])} errors, "
        f"p95 {phase['p95']:.2f} s, median {phase['median'] or float('nan'):.2f} s, server CPU "
        f"{phase['server_cpu_ms']:.0f} ms per upload, the driver's own {phase['driver_cpu_ms']:.0f} ms, {phase['load']}"
        for phase in phases)
    note = (f"{os.cpu_count()} cores / {probe_cpu * 1000:.1f} ms of server CPU per MNIST upload (one student, "
            f"{PROBE_UPLOADS} uploads; {server_cpu * 1000:.1f} ms of it in the Streamlit process, whose Python runs "
            f"on one core at a time: {1 / server_cpu:.0f} uploads/s at most per server process) = {computed:.1f} "
            f"uploads/s computed; {students} browser-less students "
            f"(bench/protocol.py) driving it, target p95 <= {TARGET_P95} s: {words}")
    rows = [result("classroom_capacity", held[0]["rate"] if held else 0.0, "uploads/s", computed, note=note),
            result("classroom_throughput", phases[0]["done"] / phases[0]["wall"], "uploads/s", computed,
                   note="uploads finished per second while driven at the computed rate, whatever their latency")]
    if held and held[0]["errors"] == []:
        rows.append(result("classroom_capacity_p95", held[0]["p95"] * 1000, "ms", TARGET_P95 * 1000,
                           note="the upload-to-explanation p95 at the rate that held"))
    return rows


def main(argv=None):
    return common.command_line("python -m bench.capacity", __doc__.splitlines()[0], run,
                               {"seconds": (float, PHASE_SECONDS, 5, 600), "students": (int, STUDENTS, 1, 100)}, argv)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
