from django.core.exceptions import ValidationError
from django.db import models

from dependencies.ranges import MAX_RANGE_LENGTH, is_valid_range
from plexica.models import Created, OrganizationScoped
from plexica.plugins.models import plugin_id_validator


class PluginDependency(OrganizationScoped, Created):
    """`plugin` needs `depends_on_plugin_id` in a version of `version` (an npm range).

    The depended-on plugin is named, not linked: a plugin may name one the organization does not have
    (resolution reports it missing).
    """

    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="dependencies")
    depends_on_plugin_id = models.CharField(
        "depends on plugin id", max_length=100, validators=[plugin_id_validator]
    )
    version = models.CharField(
        "version range", max_length=MAX_RANGE_LENGTH, blank=True,
        help_text="An npm range: ^1.2.0, ~2.3, 1.x || >=2.5.0, 1.2.3 - 2.3 ... Empty means any version (*).",
    )
    required = models.BooleanField(default=True, help_text="An optional dependency only warns when unmet.")

    class Meta:
        ordering = ["depends_on_plugin_id"]
        verbose_name_plural = "plugin dependencies"
        constraints = [
            models.UniqueConstraint(fields=["plugin", "depends_on_plugin_id"], name="dependency_unique_per_plugin")
        ]
        indexes = [models.Index(fields=["organization", "depends_on_plugin_id"], name="dependency_target_idx")]

    def __str__(self):
        return f"{self.plugin} → {self.depends_on_plugin_id} {self.version}"

    def save(self, *args, **kwargs):
        if self.plugin_id and not self.organization_id:
            self.organization_id = self.plugin.organization_id
        super().save(*args, **kwargs)

    def clean(self):
        # Checked here, not as a field validator: migrations of an app named "dependencies" cannot
        # reference "dependencies.<module>" inside their Migration class (its `dependencies` list shadows it).
        if self.version and not is_valid_range(self.version):
            raise ValidationError(
                {"version": f"'{self.version}' is not a valid npm version range (for example ^1.2.0)."}
            )
        if self.plugin_id and self.depends_on_plugin_id == self.plugin.plugin_id:
            raise ValidationError({"depends_on_plugin_id": "A plugin cannot depend on itself."})
        if self.plugin_id and self.organization_id and self.plugin.organization_id != self.organization_id:
            raise ValidationError({"plugin": "This plugin belongs to another organization."})
