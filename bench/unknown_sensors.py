"""Peak memory of the readings import when a file names hundreds of thousands of unknown sensors.

Generates a long-format file of --rows rows (default 500,000), each naming a sensor that does
not exist (--case sensors: one known farm and inverter, a new sensor ID on every row; --case
farms: a new farm ID on every row), and imports it with skip-invalid in a fresh process, then
prints the peak RSS, the time and the summary. Memory must not grow with the number of unknown
sensors (issue 13: 1.51 GB at 500,000 before the fix).

    .venv/bin/python bench/unknown_sensors.py [--rows N] [--case sensors|farms]

It uses a scratch SQLite database under var/bench/ (BENCH_DATABASE_URL to choose another).
BENCH_CODE_ROOT runs the import from another checkout of the code (to measure before a change).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT / "bench"))
from _scratch import BENCH_ENVIRONMENT  # noqa: E402 - these run as scripts

CHILD = """
import json, resource, sys, tempfile
import django
django.setup()
from portfolio.ingest import import_readings
errors = tempfile.NamedTemporaryFile(suffix=".errors.csv", delete=False).name
result = import_readings(sys.argv[1], skip_invalid=True, errors_path=errors)
with open(errors) as stream:
    error_lines = sum(1 for _ in stream) - 1
print(json.dumps({"rows": result.rows_read, "skipped": result.rows_skipped, "seconds": round(result.seconds, 1),
                  "error_lines": error_lines, "listed": len(getattr(result, "unknown_sensors", [])),
                  "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--case", choices=("sensors", "farms"), default="sensors")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    database = WORK / "unknown_sensors.sqlite3"
    env = {
        **BENCH_ENVIRONMENT,
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{database}"),
    }
    env.pop("REDIS_URL", None)
    if "BENCH_DATABASE_URL" not in os.environ:
        database.unlink(missing_ok=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = (
        "import django; django.setup()\n"
        "from portfolio.models import Portfolio, Farm, Equipment\n"
        "p = Portfolio.objects.create(name='Bench', slug='bench')\n"
        "f = Farm.objects.create(portfolio=p, farm_id='F-1', name='Farm', timezone='UTC')\n"
        "Equipment.objects.create(farm=f, equipment_id='INV-1', name='Inverter', equipment_type='inverter')\n"
    )
    subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True)
    path = WORK / f"unknown_{args.case}_{args.rows}.csv"
    with open(path, "w") as stream:
        stream.write("farm_id,equipment_id,sensor_id,observed_at,value\n")
        for number in range(args.rows):
            farm, sensor = ("F-1", f"S-{number:07d}") if args.case == "sensors" else (f"F-{number:07d}", "S-1")
            stream.write(f"{farm},INV-1,{sensor},2024-06-01 00:00:00,{number}.5\n")
    child_env = env
    if code := os.environ.get("BENCH_CODE_ROOT"):
        child_env = {**env, "PYTHONPATH": code}
    cwd = os.environ.get("BENCH_CODE_ROOT", ROOT)
    output = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], cwd=cwd, env=child_env, check=True, capture_output=True, text=True
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    print(f"{args.rows:,} rows naming unknown {args.case}: {figures}")


if __name__ == "__main__":
    main()
