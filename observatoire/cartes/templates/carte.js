/* observatoire — map script (our own code; Leaflet is inlined before it).
 * Reads the JSON in <script id="obs-donnees">, draws the filled layer, the outline
 * layers, the indicator switch (Leaflet layer control), legend, search by name,
 * fullscreen and scale bar. Every text coming from data is put in the page with
 * textContent, or escaped before Leaflet inserts it as HTML (layer control labels). */
(function () {
  'use strict';

  function esc(s) {
    return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function normaliser(s) {
    return String(s || '').toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      .replace(/[^a-z0-9]+/g, ' ').trim();
  }

  function el(tag, cls, texte) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (texte !== undefined && texte !== null) { e.textContent = String(texte); }
    return e;
  }

  var MOTIFS =
    '<pattern id="obs-motif-secret" patternUnits="userSpaceOnUse" width="6" height="6" ' +
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f0f0f0"/>' +
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#737373" stroke-width="2"/></pattern>' +
    '<pattern id="obs-motif-manquant" patternUnits="userSpaceOnUse" width="6" height="6">' +
    '<rect width="6" height="6" fill="#ffffff"/><circle cx="3" cy="3" r="1.2" fill="#969696"/></pattern>';

  // Tooltips stay inside their map: below the pointer in the upper half, above it in the
  // lower half, then shifted back inside the map's frame if they still overflow it.
  if (L.Tooltip && !L.Tooltip.prototype._obsDansLaCarte) {
    var placerTooltip = L.Tooltip.prototype._setPosition;
    L.Tooltip.prototype._setPosition = function (pos) {
      var carte = this._map;
      if (this.options.obsAdaptatif && carte) {
        var p = carte.layerPointToContainerPoint(pos);
        this.options.direction = p.y < carte.getSize().y / 2 ? 'bottom' : 'top';
      }
      placerTooltip.call(this, pos);
      if (!carte || !this._container) { return; }
      var t = this._container.getBoundingClientRect();
      var m = carte.getContainer().getBoundingClientRect();
      var dx = 0, dy = 0;
      if (t.right > m.right) { dx = m.right - t.right; }
      if (t.left + dx < m.left) { dx = m.left - t.left; }
      if (t.bottom > m.bottom) { dy = m.bottom - t.bottom; }
      if (t.top + dy < m.top) { dy = m.top - t.top; }
      if (dx || dy) {
        L.DomUtil.setPosition(this._container,
          L.DomUtil.getPosition(this._container).add([Math.round(dx), Math.round(dy)]));
      }
    };
    L.Tooltip.prototype._obsDansLaCarte = true;
  }

  function demarrer(conteneur) {
    var source = document.getElementById(conteneur.getAttribute('data-donnees'));
    var D = JSON.parse(source.textContent);
    var bloc = conteneur.closest('.obs-carte-bloc') || conteneur;
    var actif = D.actif || 0;
    var carte = L.map(conteneur, {zoomSnap: 0.25, attributionControl: true});
    carte.attributionControl.setPrefix(false);
    var couchesRecherche = [];

    function indicateur() { return D.indicateurs && D.indicateurs.length ? D.indicateurs[actif] : null; }

    function entree(code) {
      var ind = indicateur();
      return ind && ind.valeurs ? ind.valeurs[code] : undefined;
    }

    function classe(code) {
      var e = entree(code);
      return e === undefined ? '-2' : String(e[0]);
    }

    function style(feature) {
      var ind = indicateur();
      var c = classe(feature.properties.code);
      var fill = ind && ind.couleurs ? (ind.couleurs[c] || ind.couleurs['-2']) : (D.zones.couleur || '#2c7fb8');
      return {fillColor: fill, fillOpacity: D.zones.opacite || 0.8, color: D.zones.trait || '#4d4d4d',
              weight: D.zones.epaisseur || 0.7, opacity: 1, className: D.zones.classe || 'obs-zone'};
    }

    function infobulle(props) {
      var div = el('div', 'obs-infobulle');
      div.appendChild(el('strong', 'obs-infobulle-titre', props.nom || props.code));
      var sous = [props.sous, props.code !== props.nom ? props.code : null].filter(Boolean);
      if (sous.length) { div.appendChild(el('div', 'obs-infobulle-sous', sous.join(' — '))); }
      var ind = indicateur();
      var lignes = [];
      if (ind) {
        div.appendChild(el('div', 'obs-infobulle-indicateur', ind.libelle));
        var e = entree(props.code);
        lignes = e ? e[1] : [['Valeur', 'manquant']];
        lignes = lignes.concat(ind.commun || []);
      } else if (D.zones.lignes && D.zones.lignes[props.code]) {
        lignes = D.zones.lignes[props.code];
      }
      if (lignes.length) {
        var t = el('table');
        lignes.forEach(function (l) {
          var tr = el('tr');
          tr.appendChild(el('th', null, l[0]));
          tr.appendChild(el('td', null, l[1]));
          t.appendChild(tr);
        });
        div.appendChild(t);
      }
      return div;
    }

    // one tooltip open at a time (hover, table rows, search)
    function fermerInfobulles(sauf) {
      zones.eachLayer(function (c) { if (c !== sauf && c.isTooltipOpen()) { c.closeTooltip(); } });
    }

    var zones = L.geoJSON(D.zones.geojson, {
      style: style,
      onEachFeature: function (f, couche) {
        couche.bindTooltip(function () { return infobulle(f.properties); },
                           {sticky: true, direction: 'top', className: 'obs-tooltip',
                            obsAdaptatif: true});
        couche.on('mouseover', function () {
          fermerInfobulles(couche);
          couche.setStyle({weight: 2.5, color: '#000000'});
        });
        couche.on('mouseout', function () { zones.resetStyle(couche); marquer(); });
      }
    });
    couchesRecherche.push({couche: zones, tooltip: true});

    function marquer() {
      zones.eachLayer(function (c) {
        if (c._path) {
          c._path.setAttribute('data-code', c.feature.properties.code);
          c._path.setAttribute('data-classe', classe(c.feature.properties.code));
        }
      });
    }

    var limites = zones.getBounds();
    if (limites.isValid()) {
      carte.fitBounds(limites, {padding: [10, 10]});
      if (D.dezoom) { carte.setZoom(carte.getZoom() - D.dezoom, {animate: false}); }
    } else {
      carte.setView([46.6, 2.4], 6);
    }
    var rendu = L.svg({padding: 0.5});
    carte.options.renderer = rendu;
    carte.addLayer(rendu);
    var defs = document.createElementNS('http://www.w3.org/2000/svg', 'defs');
    defs.innerHTML = MOTIFS;
    rendu._container.insertBefore(defs, rendu._container.firstChild);

    var superposees = {};
    if (D.tuiles) {
      var tuiles = L.tileLayer(D.tuiles.url, {attribution: esc(D.tuiles.attribution), maxZoom: 19});
      superposees[esc(D.tuiles.nom)] = tuiles;
    }
    zones.addTo(carte);
    (D.contours || []).forEach(function (c) {
      var couche = L.geoJSON(c.geojson, {
        style: function () { return L.extend({fill: false, interactive: false, className: c.classe}, c.style); },
        interactive: false
      });
      if (c.visible) { couche.addTo(carte); }
      superposees[esc(c.nom)] = couche;
      if (c.recherche) { couchesRecherche.push({couche: couche, tooltip: false}); }
    });
    marquer();

    function montrer(selecteur) {
      document.querySelectorAll(selecteur).forEach(function (n) {
        n.hidden = String(n.getAttribute('data-indicateur')) !== String(actif);
      });
    }

    var bases = {};
    if (D.indicateurs && D.indicateurs.length) {
      D.indicateurs.forEach(function (ind, i) {
        var g = L.layerGroup();
        g._obsIndice = i;
        bases[esc(ind.libelle)] = g;
        if (i === actif) { g.addTo(carte); }
      });
    }
    if (Object.keys(bases).length > 1 || Object.keys(superposees).length) {
      L.control.layers(Object.keys(bases).length > 1 ? bases : {}, superposees,
                       {collapsed: D.replie !== false, position: 'topright'}).addTo(carte);
    }
    carte.on('baselayerchange', function (ev) {
      if (ev.layer && ev.layer._obsIndice !== undefined) {
        actif = ev.layer._obsIndice;
        zones.setStyle(style);
        marquer();
        montrer('.obs-legende[data-indicateur], .obs-tableau[data-indicateur]');
        var sel = document.getElementById('obs-choix-indicateur');
        if (sel) { sel.value = String(actif); }
      }
    });

    // Legend: the server-rendered blocks are moved into a Leaflet control.
    var blocsLegende = bloc.querySelectorAll('.obs-legende');
    if (blocsLegende.length) {
      var Legende = L.Control.extend({
        options: {position: 'bottomright'},
        onAdd: function () {
          var div = L.DomUtil.create('div', 'obs-legende-controle leaflet-bar');
          var bouton = el('button', 'obs-legende-bouton', 'Légende');
          bouton.type = 'button';
          bouton.setAttribute('aria-expanded', 'true');
          bouton.title = 'Masquer ou afficher la légende';
          var corps = el('div', 'obs-legende-corps');
          blocsLegende.forEach(function (b) { corps.appendChild(b); });
          bouton.addEventListener('click', function () {
            var cache = corps.hidden = !corps.hidden;
            bouton.setAttribute('aria-expanded', cache ? 'false' : 'true');
          });
          div.appendChild(bouton);
          div.appendChild(corps);
          L.DomEvent.disableClickPropagation(div);
          L.DomEvent.disableScrollPropagation(div);
          return div;
        }
      });
      new Legende().addTo(carte);
    }
    montrer('.obs-legende[data-indicateur], .obs-tableau[data-indicateur]');

    // Search by name.
    var Recherche = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function () {
        var div = L.DomUtil.create('div', 'obs-recherche leaflet-bar');
        var champ = el('input');
        champ.type = 'search';
        champ.placeholder = 'Rechercher un quartier…';
        champ.setAttribute('aria-label', 'Rechercher un quartier par son nom');
        var liste = el('datalist');
        liste.id = 'obs-noms-' + conteneur.id;
        champ.setAttribute('list', liste.id);
        var vus = {};
        couchesRecherche.forEach(function (r) {
          r.couche.eachLayer(function (c) {
            var nom = c.feature && c.feature.properties ? c.feature.properties.nom : null;
            if (nom && !vus[nom]) { vus[nom] = 1; var o = el('option'); o.value = nom; liste.appendChild(o); }
          });
        });
        var msg = el('div', 'obs-recherche-message');
        function chercher() {
          var q = normaliser(champ.value);
          if (!q) { return; }
          var trouve = null;
          couchesRecherche.forEach(function (r) {
            r.couche.eachLayer(function (c) {
              var p = c.feature ? c.feature.properties : {};
              if (!trouve && (normaliser(p.nom).indexOf(q) >= 0 || normaliser(p.code) === q)) {
                trouve = {couche: c, tooltip: r.tooltip};
              }
            });
          });
          if (!trouve) { msg.textContent = 'Aucun quartier trouvé'; return; }
          msg.textContent = '';
          carte.fitBounds(trouve.couche.getBounds(), {maxZoom: 15, padding: [30, 30]});
          if (trouve.tooltip) {
            fermerInfobulles(trouve.couche);
            trouve.couche.openTooltip(trouve.couche.getBounds().getCenter());
          }
        }
        champ.addEventListener('change', chercher);
        champ.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { chercher(); } });
        div.appendChild(champ);
        div.appendChild(liste);
        div.appendChild(msg);
        L.DomEvent.disableClickPropagation(div);
        return div;
      }
    });
    if (D.recherche !== false) { new Recherche().addTo(carte); }

    // Fullscreen (CSS, no plugin).
    var PleinEcran = L.Control.extend({
      options: {position: 'topleft'},
      onAdd: function () {
        var div = L.DomUtil.create('div', 'leaflet-bar obs-plein-ecran-controle');
        var a = el('a', 'obs-bouton');
        var ns = 'http://www.w3.org/2000/svg';
        var svg = document.createElementNS(ns, 'svg');
        svg.setAttribute('viewBox', '0 0 16 16');
        svg.setAttribute('width', '16');
        svg.setAttribute('height', '16');
        var trace = document.createElementNS(ns, 'path');
        trace.setAttribute('d', 'M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5');
        trace.setAttribute('fill', 'none');
        trace.setAttribute('stroke', '#222');
        trace.setAttribute('stroke-width', '2');
        svg.appendChild(trace);
        a.appendChild(svg);
        a.href = '#';
        a.title = 'Plein écran';
        a.setAttribute('role', 'button');
        L.DomEvent.on(a, 'click', function (ev) {
          L.DomEvent.preventDefault(ev);
          bloc.classList.toggle('obs-plein-ecran');
          document.body.classList.toggle('obs-plein-ecran-actif', bloc.classList.contains('obs-plein-ecran'));
          carte.invalidateSize();
        });
        div.appendChild(a);
        return div;
      }
    });
    new PleinEcran().addTo(carte);
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape' && bloc.classList.contains('obs-plein-ecran')) {
        bloc.classList.remove('obs-plein-ecran');
        document.body.classList.remove('obs-plein-ecran-actif');
        carte.invalidateSize();
      }
    });

    L.control.scale({imperial: false}).addTo(carte);

    // Select box in the page (keyboard-friendly twin of the layer control).
    var sel = document.querySelector('.obs-choix-indicateur');
    if (sel) {
      sel.addEventListener('change', function () {
        var i = parseInt(sel.value, 10);
        Object.keys(bases).forEach(function (k) {
          if (bases[k]._obsIndice === i) { carte.addLayer(bases[k]); } else { carte.removeLayer(bases[k]); }
        });
      });
    }
    // A click on a row of the table beside the map shows that feature.
    document.querySelectorAll('.obs-tableau tr[data-code]').forEach(function (ligne) {
      ligne.tabIndex = 0;
      function montrerZone() {
        var code = ligne.getAttribute('data-code');
        zones.eachLayer(function (c) {
          if (c.feature.properties.code === code) {
            fermerInfobulles(c);
            carte.fitBounds(c.getBounds(), {maxZoom: 15, padding: [30, 30], animate: false});
            c.openTooltip(c.getBounds().getCenter());
          }
        });
      }
      ligne.addEventListener('click', montrerZone);
      ligne.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { montrerZone(); } });
    });

    conteneur.obsCarte = carte;
    conteneur.obsZones = zones;
    conteneur.setAttribute('data-pret', '1');
  }

  function tout() {
    document.querySelectorAll('.obs-carte[data-donnees]').forEach(demarrer);
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', tout);
  } else {
    tout();
  }
}());
