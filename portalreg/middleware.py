from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Keep every page out of browser and proxy caches (`Cache-Control: no-store`).

    Any page may show a child's health details, and after signing out the back button must not bring
    one back. Static files are served before this runs, and stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
