"""A demo farm's sensor readings, from its site's weather and its inverters' CEC ratings.

Inverter DC power is plane-of-array irradiance times the DC capacity behind the inverter, less a
loss for hot cells; AC power is DC power times the inverter's CEC efficiency at rating
(Paco / Pdco), clipped at its AC rating (Paco). The weather repeats every two weeks (data.py),
so a farm's readings do too: they are worked out once per farm over one repetition, and a
moment's values are looked up by its place in it.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cached_property

from portfolio.choices import SensorType
from portfolio.demo.data import WEATHER_EPOCH

READING_STEP = timedelta(minutes=5)
TEMPERATURE_COEFFICIENT = -0.0035  # per °C of cell temperature above 25 °C, crystalline silicon
CELL_HEATING = 0.03  # °C above the air per W/m² on the modules (about 30 °C in full sun)
TRANSFORMER_EFFICIENCY = 0.99  # between the inverters and the revenue meter
STRINGS_PER_COMBINER = 1 / 12  # one combiner box gathers a twelfth of an inverter's strings


@dataclass(frozen=True)
class FarmModel:
    """A farm of ``inverter_count`` identical inverters on one site's weather."""

    site: object  # data.Site
    inverter: object  # data.Inverter
    inverter_count: int
    dc_ac_ratio: float

    @property
    def dc_capacity_w(self):
        return self.inverter_count * self.inverter.ac_rating_w * self.dc_ac_ratio

    @cached_property
    def origin(self):
        """Step 0: the first weather day's midnight, local standard time."""
        return datetime.combine(WEATHER_EPOCH, time(), tzinfo=self.site.standard_time)

    @cached_property
    def _steps(self):
        """One repetition of the weather, a step at a time: (ghi, poa, inverter dc W, inverter ac W)."""
        count = len(self.site.hours) * int(timedelta(hours=1) / READING_STEP)
        steps = []
        for number in range(count):
            ghi, poa, air = self.site.weather_at(self.origin + number * READING_STEP)
            dc = self.inverter_dc_w(poa, air)
            steps.append((ghi, poa, dc, self.inverter_ac_w(dc)))
        return steps

    @cached_property
    def _cumulative_wh(self):
        """Meter energy from step 0 to the start of each step, over one repetition (and its total)."""
        total, sums = 0.0, []
        hours = READING_STEP / timedelta(hours=1)
        for _, _, _, ac in self._steps:
            sums.append(total)
            total += self.meter_w(ac) * hours
        return sums, total

    def inverter_dc_w(self, poa, air_temperature):
        if poa <= 0:
            return 0.0
        cell = air_temperature + CELL_HEATING * poa
        derate = 1 + TEMPERATURE_COEFFICIENT * (cell - 25)
        return max(0.0, poa / 1000 * self.dc_capacity_w / self.inverter_count * derate)

    def inverter_ac_w(self, dc):
        return min(dc * self.inverter.ac_rating_w / self.inverter.dc_rating_w, self.inverter.ac_rating_w)

    def meter_w(self, inverter_ac):
        return inverter_ac * self.inverter_count * TRANSFORMER_EFFICIENCY

    def _step(self, moment):
        return round((moment - self.origin) / READING_STEP)

    def energy_wh(self, moment):
        """The meter's energy register at ``moment``: what it counted since step 0."""
        number = self._step(moment)
        sums, total = self._cumulative_wh
        turns, place = divmod(number, len(sums))
        return turns * total + sums[place]

    def values(self, sensor_type, moment, since=None):
        """A sensor's reading at ``moment``; the energy register counts from ``since`` (commissioning)."""
        ghi, poa, dc, ac = self._steps[self._step(moment) % len(self._steps)]
        volts = self.inverter.dc_voltage_v if dc > 0 else 0.0
        if sensor_type == SensorType.PRODUCTION_METER_ENERGY:
            return self.energy_wh(moment) - (self.energy_wh(since) if since else 0.0)
        return {
            SensorType.DC_VOLTAGE: volts,
            SensorType.DC_CURRENT_AMP: dc / self.inverter.dc_voltage_v,
            SensorType.DC_POWER: dc,
            SensorType.AC_POWER: ac,
            SensorType.PRODUCTION_METER_POWER: self.meter_w(ac),
            SensorType.IRRADIANCE_POA: poa,
            SensorType.IRRADIANCE_GHI: ghi,
        }[sensor_type]
