# How far a run or sync has got, written as it goes (uploads/runs/progress.py): its page's live
# status box polls it. Numbered 0010 and after 0008: 0009 is another change's; the two are
# independent, and whoever merges second puts this one after the other.

from django.db import migrations, models

HELP = "How far the run got: its phase and what it has done of what (its page)."


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0009_failed_write_calls"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="progress",
            field=models.JSONField(blank=True, default=dict, help_text=HELP),
        ),
        migrations.AddField(
            model_name="uploadrun",
            name="progress",
            field=models.JSONField(blank=True, default=dict, help_text=HELP),
        ),
    ]
