"""A version range may be up to 1024 characters, or empty (any version, as npm reads "").

256 was npm's limit for one version, not for a range: npm takes `1.2.3+<251 letters> - 2.0.0`.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dependencies", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="plugindependency",
            name="version",
            field=models.CharField(
                blank=True, max_length=1024, verbose_name="version range",
                help_text=(
                    "An npm range: ^1.2.0, ~2.3, 1.x || >=2.5.0, 1.2.3 - 2.3 ... Empty means any version (*)."
                ),
            ),
        ),
    ]
