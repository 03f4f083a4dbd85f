"""Changes of themes and plans move the catalogue to a new version (rooms.catalogue)."""

from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from rooms.catalogue import catalogue_changed
from rooms.models import Theme
from subscriptions.models import Plan


@receiver([post_save, post_delete], sender=Theme, dispatch_uid="rooms.catalogue.theme")
@receiver([post_save, post_delete], sender=Plan, dispatch_uid="rooms.catalogue.plan")
def _catalogue_changed(sender: type[Model], **kwargs: object) -> None:
    catalogue_changed()
