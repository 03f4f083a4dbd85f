"""Audit rows for writes made through the Django admin site (docs/api.md §7: every admin write), beside the audit log.

Model admins whose writes have no domain service (plans, themes, role grants) mix `AuditedModelAdmin` in; admins
of rows with rules (users, payments) call services that audit by themselves.
"""

from django.db.models import Model
from django.forms.models import model_to_dict

from accounts.audit import audit_context_from_request, audit_log_record


def _jsonable(values: dict) -> dict:
    return {
        key: value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
        for key, value in values.items()
    }


class AuditedModelAdmin:
    """Writes `<resource>.create|update|delete` with the changed fields' before/after values."""

    audit_resource_type = ""
    model: type[Model]  # set by the ModelAdmin this is mixed into

    def _resource_type(self) -> str:
        return self.audit_resource_type or str(self.model._meta.model_name)

    def _record(self, request, obj, *, verb: str, before: dict, after: dict) -> None:
        audit_log_record(
            action=f"{self._resource_type()}.{verb}",
            actor=request.user,
            resource_type=self._resource_type(),
            resource_id=str(obj.pk),
            before=_jsonable(before),
            after=_jsonable(after),
            **audit_context_from_request(request),
        )

    def save_model(self, request, obj, form, change):
        # Compare stored values rather than trusting form.changed_data, which flags
        # re-posted JSON fields as changed even when the value is the same.
        fields = list(form.fields)
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change else None
        before_all = model_to_dict(stored, fields=fields) if stored is not None else {}
        super().save_model(request, obj, form, change)
        after_all = model_to_dict(obj, fields=fields)
        changed = [name for name in after_all if not change or before_all.get(name) != after_all[name]]
        if not changed:
            return
        self._record(
            request,
            obj,
            verb="update" if change else "create",
            before={name: before_all[name] for name in changed if name in before_all},
            after={name: after_all[name] for name in changed},
        )

    def delete_model(self, request, obj):
        snapshot = model_to_dict(obj)
        pk = obj.pk
        super().delete_model(request, obj)
        obj.pk = pk
        self._record(request, obj, verb="delete", before=snapshot, after={})

    def delete_queryset(self, request, queryset):
        rows = [(obj.pk, model_to_dict(obj), obj) for obj in queryset]
        super().delete_queryset(request, queryset)
        for pk, snapshot, obj in rows:
            obj.pk = pk
            self._record(request, obj, verb="delete", before=snapshot, after={})
